import { BrowserRouter, Link, Navigate, NavLink, Route, Routes } from 'react-router'
import { AuthProvider, useAuth } from './auth/auth'
// One bundle: a lazily loaded editor would wait for React's Suspense reveal throttle (300 ms)
// on every deep link, more than its download and parse cost.
import EditorPage from './editor/EditorPage'
import { FlowsList } from './pages/FlowsList'
import { ChannelSettingsPage } from './pages/ChannelSettingsPage'
import { ContactsPage } from './pages/ContactsPage'
import { ImportPage } from './pages/ImportPage'
import { PolicyPage } from './pages/PolicyPage'
import { ProfilePage } from './pages/ProfilePage'
import { SegmentPage } from './pages/SegmentPage'
import { SegmentsPage } from './pages/SegmentsPage'
import { SignIn } from './pages/SignIn'
import { SuppressionsPage } from './pages/SuppressionsPage'
import { TemplatesEditor } from './pages/TemplatesEditor'
import { TemplatesPage } from './pages/TemplatesPage'

function Shell() {
  const { me, checking, signOut } = useAuth()
  if (checking) return <p className="loading" role="status">Loading…</p>
  if (!me) return <SignIn />
  return (
    <div className="app">
      <header className="topbar">
        <Link to="/" className="brand" aria-label="Castflow: all flows">
          <span className="brand-mark" aria-hidden="true">◆</span> Castflow
        </Link>
        <nav className="main-nav" aria-label="Main">
          <NavLink to="/" end className="nav-link">
            Flows
          </NavLink>
          <NavLink to="/contacts" className="nav-link">
            Contacts
          </NavLink>
          <NavLink to="/segments" className="nav-link">
            Segments
          </NavLink>
          <NavLink to="/templates" className="nav-link">
            Templates
          </NavLink>
          <NavLink to="/settings/channels" className="nav-link">
            Channels
          </NavLink>
          <NavLink to="/settings/policy" className="nav-link">
            Delivery rules
          </NavLink>
          <NavLink to="/settings/suppressions" className="nav-link">
            Suppressions
          </NavLink>
        </nav>
        <span className="spacer" />
        <span className="muted">{me.user?.email}</span>
        <button type="button" className="ghost" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <Routes>
        <Route path="/" element={<FlowsList />} />
        <Route path="/flows/:flowId" element={<EditorPage />} />
        <Route path="/contacts" element={<ContactsPage />} />
        <Route path="/contacts/import" element={<ImportPage />} />
        <Route path="/contacts/:contactId" element={<ProfilePage />} />
        <Route path="/segments" element={<SegmentsPage />} />
        <Route path="/segments/_new" element={<SegmentPage />} />
        <Route path="/segments/:segmentKey" element={<SegmentPage />} />
        <Route path="/templates" element={<TemplatesPage />} />
        <Route path="/templates/:templateKey" element={<TemplatesEditor />} />
        <Route path="/settings/channels" element={<ChannelSettingsPage />} />
        <Route path="/settings/policy" element={<PolicyPage />} />
        <Route path="/settings/suppressions" element={<SuppressionsPage />} />
        <Route path="/login" element={<Navigate to="/" replace />} />
        <Route path="*" element={<NotFound />} />
      </Routes>
    </div>
  )
}

function NotFound() {
  return (
    <main className="page">
      <h1>Page not found</h1>
      <p>
        <Link to="/">Back to your flows</Link>
      </p>
    </main>
  )
}

export function App() {
  return (
    <AuthProvider>
      <BrowserRouter>
        <Shell />
      </BrowserRouter>
    </AuthProvider>
  )
}

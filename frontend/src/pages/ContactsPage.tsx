// All contacts: search by id, email, phone or name, narrow to a segment's members, page through
// them with cursors (a million contacts page as fast as ten), and open one profile.
import { useEffect, useState } from 'react'
import { Link, useNavigate, useSearchParams } from 'react-router'
import { api, ApiError } from '../api/client'
import type { ContactRow, Segment } from '../api/types'
import { relativeTime } from '../lib/format'
import { arrived, back, currentCursor, FIRST_PAGE, forward, rangeWords, type Pages } from '../lib/paging'
import { attributeSummary, contactName } from '../lib/contact'
import './people.css'

export const PAGE_SIZE = 50
const PATH = '/contacts'
const SEARCH_DELAY_MS = 300

export function ContactsPage() {
  const navigate = useNavigate()
  const [params, setParams] = useSearchParams()
  const q = params.get('q') ?? ''
  const segment = params.get('segment') ?? ''
  const [typed, setTyped] = useState(q)
  const [segments, setSegments] = useState<Segment[]>([])

  useEffect(() => {
    api.listSegments().then((page) => setSegments(page.items), () => setSegments([]))
  }, [])

  // The search box writes the URL a moment after typing stops (one request per pause, and the
  // URL can be shared or reloaded).
  useEffect(() => {
    if (typed === q) return
    const timer = window.setTimeout(() => {
      // A link clicked meanwhile has already left the page (the router unmounts it a moment
      // later): writing the search now would bring the user back here.
      if (window.location.pathname !== PATH) return
      setParams((current) => withParam(current, 'q', typed.trim()), { replace: true })
    }, SEARCH_DELAY_MS)
    return () => window.clearTimeout(timer)
  }, [typed, q, setParams])

  return (
    <main className="page">
      <div className="page-head">
        <h1>Contacts</h1>
        <span className="spacer" />
        <button type="button" className="primary" onClick={() => navigate('/contacts/import')}>
          Import
        </button>
      </div>
      <div className="filters" role="search">
        <label className="field grow">
          <span>Search</span>
          <input
            type="search"
            aria-label="Search contacts"
            placeholder="Id, email or phone"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Segment</span>
          <select
            aria-label="Only members of the segment"
            value={segment}
            onChange={(e) => setParams((current) => withParam(current, 'segment', e.target.value), { replace: true })}
          >
            <option value="">All contacts</option>
            {segments.map((s) => (
              <option key={s.key} value={s.key}>
                {s.name} ({s.key})
              </option>
            ))}
            {segment && !segments.some((s) => s.key === segment) && <option value={segment}>{segment}</option>}
          </select>
        </label>
      </div>

      <Results q={q} segment={segment} />
    </main>
  )
}

function Results({ q, segment }: { q: string; segment: string }) {
  // A new search starts again from the first page; the rows shown stay until the new ones
  // arrive (no flash of "Loading" between two searches).
  const search = `${q}\n${segment}`
  const [paging, setPaging] = useState<{ search: string; pages: Pages }>({ search, pages: FIRST_PAGE })
  const pages = paging.search === search ? paging.pages : FIRST_PAGE
  const setPages = (change: (pages: Pages) => Pages) =>
    setPaging((current) => ({ search, pages: change(current.search === search ? current.pages : FIRST_PAGE) }))
  const [rows, setRows] = useState<ContactRow[] | null>(null)
  const [shownFor, setShownFor] = useState<string | null>(null)
  const [error, setError] = useState('')
  const cursor = currentCursor(pages)
  const filtered = Boolean(q || segment)
  // The list shows when each contact changed once the API says (older servers do not).
  const dated = Boolean(rows?.some((contact) => contact.updated_at))

  useEffect(() => {
    let current = true
    api
      .searchContacts({ q: q || undefined, segment: segment || undefined, limit: PAGE_SIZE, cursor })
      .then(
        (page) => {
          if (!current) return
          setRows(page.items)
          setShownFor(`${search}\n${cursor ?? ''}`)
          setPaging((p) => ({ search, pages: arrived(p.search === search ? p.pages : FIRST_PAGE, page.next) }))
          setError('')
        },
        (failure: unknown) => {
          if (!current) return
          setRows([])
          setError(failure instanceof ApiError ? failure.message : 'Could not load the contacts.')
        },
      )
    return () => {
      current = false
    }
  }, [q, segment, cursor, search])
  const busy = shownFor !== `${search}\n${cursor ?? ''}`

  return (
    <>
      {error && (
        <p className="error-box" role="alert">
          {error}
        </p>
      )}
      {rows === null && !error && <p role="status">Loading contacts…</p>}
      {rows && rows.length === 0 && !error && (
        <div className="empty card">
          <h2>{filtered ? 'No contact matches' : 'No contacts yet'}</h2>
          <p>
            {filtered ? 'Try other words, or another segment.' : 'Import a CSV or JSON lines file, or send contacts to the API.'}
          </p>
        </div>
      )}
      {rows && rows.length > 0 && (
        <table className="flows people" aria-label="Contacts" aria-busy={busy}>
          <thead>
            <tr>
              <th scope="col">Contact</th>
              <th scope="col">Email</th>
              <th scope="col">Phone</th>
              <th scope="col">Attributes</th>
              {dated && <th scope="col">Updated</th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((contact) => (
              <tr key={contact.id}>
                <td>
                  <Link to={`/contacts/${encodeURIComponent(contact.id)}`} className="flow-name">
                    {contactName(contact) ?? contact.id}
                  </Link>
                  {contactName(contact) && <div className="muted mono">{contact.id}</div>}
                </td>
                <td>{contact.email ?? <span className="muted">—</span>}</td>
                <td>{contact.phone ?? <span className="muted">—</span>}</td>
                <td className="muted">{attributeSummary(contact.attributes, 3)}</td>
                {dated && (
                  <td title={contact.updated_at ? new Date(contact.updated_at).toLocaleString() : undefined}>
                    {contact.updated_at ? relativeTime(contact.updated_at) : <span className="muted">—</span>}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows && (pages.index > 0 || pages.next) && (
        <nav className="pager" aria-label="Pages of contacts">
          <button type="button" disabled={pages.index === 0} onClick={() => setPages(back)}>
            ← Previous
          </button>
          <span className="muted" role="status">
            {rangeWords(pages, rows.length, PAGE_SIZE, 'contacts')}
          </span>
          <button type="button" disabled={!pages.next} onClick={() => setPages(forward)}>
            Next →
          </button>
        </nav>
      )}
    </>
  )
}

function withParam(params: URLSearchParams, name: string, value: string): URLSearchParams {
  const copy = new URLSearchParams(params)
  if (value) copy.set(name, value)
  else copy.delete(name)
  return copy
}

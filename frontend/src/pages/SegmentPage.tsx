// One segment: its key, name and rule (the canvas's condition builder, with event aggregates and
// other segments), a live count with a sample while the rule is edited, save, delete, members.
import { useEffect, useMemo, useState, type FormEvent } from 'react'
import { Link, useLocation, useNavigate, useParams } from 'react-router'
import { api, ApiError } from '../api/client'
import type { Segment } from '../api/types'
import { Dialog } from '../components/Dialog'
import { contactName } from '../lib/contact'
import { CONTACT_FIELDS, SEGMENT_LOGIC } from '../lib/segmentRule'
import { segmentExtension } from '../widgets/segmentExtension'
import { ConditionBuilder } from '../widgets/ConditionBuilder'
import { SegmentMembers } from './SegmentMembers'
import { useSegmentPreview } from './useSegmentPreview'
import './people.css'

type Notice = { kind: 'ok' | 'error'; text: string } | null

export function SegmentPage() {
  const { segmentKey } = useParams()
  // A new segment's form, or the stored one's once it has loaded (a fresh form per segment).
  const [stored, setStored] = useState<Segment | null>(null)
  const [loadError, setLoadError] = useState('')
  useEffect(() => {
    if (!segmentKey) return
    let current = true
    api.getSegment(segmentKey).then(
      (segment) => current && setStored(segment),
      (failure: unknown) => current && setLoadError(failure instanceof ApiError ? failure.message : 'Could not load the segment.'),
    )
    return () => {
      current = false
    }
  }, [segmentKey])

  if (segmentKey && loadError) {
    return (
      <main className="page">
        <p className="crumbs">
          <Link to="/segments">← All segments</Link>
        </p>
        <p className="error-box" role="alert">
          {loadError}
        </p>
      </main>
    )
  }
  if (segmentKey && stored?.key !== segmentKey) return <p className="loading" role="status">Loading the segment…</p>
  return <SegmentForm key={segmentKey ?? '_new'} stored={segmentKey ? stored : null} onSaved={setStored} />
}

function SegmentForm({ stored, onSaved }: { stored: Segment | null; onSaved: (segment: Segment) => void }) {
  const navigate = useNavigate()
  // A segment just created opens in its own page (a fresh form): the notice comes along.
  const arrival = (useLocation().state as { notice?: Notice } | null)?.notice ?? null
  const [key, setKey] = useState(stored?.key ?? '')
  const [name, setName] = useState(stored?.name ?? '')
  const [rule, setRule] = useState<unknown>(stored?.rule ?? null)
  const [others, setOthers] = useState<Segment[]>([])
  const [notice, setNotice] = useState<Notice>(arrival)
  const [saving, setSaving] = useState(false)
  const [deleting, setDeleting] = useState(false)
  const preview = useSegmentPreview(rule)
  const savedText = JSON.stringify(stored ? { name: stored.name, rule: stored.rule } : null)
  const dirty = !stored || JSON.stringify({ name, rule }) !== savedText

  useEffect(() => {
    api.listSegments().then((page) => setOthers(page.items), () => setOthers([]))
  }, [])

  // Built once per list of suggestions: a new extension would remount every aggregate editor
  // (and lose the focus of the box being typed in).
  const extension = useMemo(() => {
    const events = [...new Set(others.flatMap((s) => eventsOf(s)))].sort()
    const segments = others.filter((s) => s.key !== stored?.key).map((s) => ({ key: s.key, name: s.name }))
    return segmentExtension(SEGMENT_LOGIC, events, segments)
  }, [others, stored?.key])

  async function save(event: FormEvent) {
    event.preventDefault()
    setNotice(null)
    if (!stored && !key.trim()) {
      setNotice({ kind: 'error', text: 'Give the segment a key: a short name flows use, e.g. "vip".' })
      return
    }
    if (rule === null) {
      setNotice({ kind: 'error', text: 'Add at least one condition: which contacts belong to this segment?' })
      return
    }
    setSaving(true)
    try {
      const body = { name: name.trim() || key.trim(), rule }
      const saved = stored ? await api.saveSegment(stored.key, body) : await api.createSegment({ key: key.trim(), ...body })
      const done: Notice = { kind: 'ok', text: `Saved "${saved.name}".` }
      onSaved(saved)
      setNotice(done)
      if (!stored) navigate(`/segments/${encodeURIComponent(saved.key)}`, { replace: true, state: { notice: done } })
    } catch (failure) {
      setNotice({ kind: 'error', text: failure instanceof ApiError ? failure.message : 'The segment could not be saved.' })
    } finally {
      setSaving(false)
    }
  }

  async function remove() {
    if (!stored) return
    setDeleting(false)
    try {
      await api.deleteSegment(stored.key)
      navigate('/segments')
    } catch (failure) {
      setNotice({ kind: 'error', text: failure instanceof ApiError ? failure.message : 'The segment could not be deleted.' })
    }
  }

  return (
    <main className="page">
      <p className="crumbs">
        <Link to="/segments">← All segments</Link>
      </p>
      <div className="page-head">
        <h1>{stored ? stored.name : 'New segment'}</h1>
        {stored && <span className="muted mono">{stored.key}</span>}
        <span className="spacer" />
        {stored && (
          <button type="button" className="danger" onClick={() => setDeleting(true)}>
            Delete
          </button>
        )}
      </div>
      {notice && (
        <p className={notice.kind === 'ok' ? 'notice' : 'error-box'} role={notice.kind === 'ok' ? 'status' : 'alert'}>
          {notice.text}
        </p>
      )}
      <div className="segment-layout">
        <form className="card segment-form" onSubmit={(e) => void save(e)} aria-label="Segment">
          <div className="field">
            <label htmlFor="segment-key">Key</label>
            <input
              id="segment-key"
              value={key}
              disabled={Boolean(stored)}
              placeholder="vip"
              aria-describedby="key-help"
              onChange={(e) => setKey(e.target.value)}
            />
            <p id="key-help" className="help">
              {stored ? 'Flows name the segment by its key, so it cannot change.' : 'Letters, digits, "_", "." and "-"; flows name the segment by it.'}
            </p>
          </div>
          <label className="field">
            <span>Name</span>
            <input value={name} placeholder="VIP customers" onChange={(e) => setName(e.target.value)} />
          </label>
          <ConditionBuilder
            label="Contacts who match"
            value={rule}
            onChange={setRule}
            fields={CONTACT_FIELDS}
            defaultField="contact.attributes.country"
            extension={extension}
            help="Event conditions count the contact's events; segment conditions use another segment's members."
          />
          <details className="field">
            <summary>The rule as JSON</summary>
            <pre className="json-view mono" aria-label="The rule as JSON">
              {JSON.stringify(rule, null, 2)}
            </pre>
          </details>
          <div className="button-row">
            <button type="submit" className="primary" disabled={saving || !dirty}>
              {saving ? 'Saving…' : stored ? 'Save changes' : 'Create segment'}
            </button>
            {stored && !dirty && <span className="muted">All changes saved.</span>}
          </div>
        </form>
        <LiveCount preview={preview} />
      </div>
      {stored && <SegmentMembers key={`${stored.key}-${stored.updated_at ?? ''}`} segment={stored} />}
      {deleting && stored && (
        <Dialog
          title={`Delete "${stored.name}"?`}
          onClose={() => setDeleting(false)}
          actions={
            <>
              <button type="button" onClick={() => setDeleting(false)} data-autofocus>
                Keep it
              </button>
              <button type="button" className="danger" onClick={() => void remove()}>
                Delete segment
              </button>
            </>
          }
        >
          <p>
            The segment and its membership history will be gone for good. Flows that start on it or filter by it will no longer find
            it.
          </p>
        </Dialog>
      )}
    </main>
  )
}

function eventsOf(segment: Segment): string[] {
  const deps = segment.dependencies as { events?: unknown } | undefined
  return Array.isArray(deps?.events) ? deps.events.filter((e): e is string => typeof e === 'string') : []
}

function LiveCount({ preview }: { preview: ReturnType<typeof useSegmentPreview> }) {
  const shown = preview.state === 'done' ? preview : preview.state === 'counting' ? preview.last : null
  return (
    <aside className="card live-count" aria-label="Matching contacts">
      <h2>Matching contacts now</h2>
      {preview.state === 'empty' && <p className="muted">Add a condition to count the contacts who match.</p>}
      {preview.state === 'refused' && (
        <p className="error-box" role="alert">
          {preview.error}
        </p>
      )}
      {shown && (
        <>
          <p className="big" data-testid="live-count" aria-live="polite" aria-busy={preview.state === 'counting'}>
            {shown.count.toLocaleString('en-GB')}
          </p>
          <p className="muted">{shown.count === 1 ? 'contact matches' : 'contacts match'}</p>
        </>
      )}
      {preview.state === 'counting' && <p className="muted" role="status">Counting…</p>}
      {shown && shown.sample.length > 0 && (
        <>
          <h3>For example</h3>
          <ul className="sample" aria-label="Sample of matching contacts">
            {shown.sample.map((contact) => (
              <li key={contact.id}>
                <Link to={`/contacts/${encodeURIComponent(contact.id)}`}>{contactName(contact) ?? contact.id}</Link>
                {contact.email && <span className="muted"> {contact.email}</span>}
              </li>
            ))}
          </ul>
        </>
      )}
    </aside>
  )
}

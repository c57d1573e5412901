import { useCallback, useEffect, useRef, useState, type ChangeEvent } from 'react'
import { Link, useNavigate } from 'react-router'
import { api, ApiError } from '../api/client'
import type { FlowDocument, FlowSummary, Problem } from '../api/types'
import { Dialog } from '../components/Dialog'
import { EXAMPLES } from '../examples'
import { describeRuns, relativeTime, STATUS_WORDS } from '../lib/format'
import { downloadJson, fileNameFor } from '../lib/download'
import { ImportProblems } from './ImportProblems'

const BLANK: FlowDocument = { format: 'castflow.flow/1', name: 'Untitled flow', nodes: [], edges: [] }

type Notice = { kind: 'ok' | 'error'; text: string } | null

export function FlowsList() {
  const navigate = useNavigate()
  const [flows, setFlows] = useState<FlowSummary[] | null>(null)
  const [next, setNext] = useState<string | null>(null)
  const [loadError, setLoadError] = useState('')
  const [notice, setNotice] = useState<Notice>(null)
  const [choosingExample, setChoosingExample] = useState(false)
  const [deleting, setDeleting] = useState<FlowSummary | null>(null)
  const [importFailure, setImportFailure] = useState<{ file: string; document: unknown; error: string; problems: Problem[] } | null>(null)
  const fileInput = useRef<HTMLInputElement>(null)

  const refresh = useCallback(async () => {
    try {
      const page = await api.listFlows()
      setFlows(page.items)
      setNext(page.next)
      setLoadError('')
    } catch (error) {
      setLoadError(error instanceof ApiError ? error.message : 'Could not load the flows.')
    }
  }, [])

  useEffect(() => {
    // Load now, and refresh now and then: run counts change while flows are live.
    const first = window.setTimeout(() => void refresh(), 0)
    const timer = window.setInterval(() => void refresh(), 10_000)
    return () => {
      window.clearTimeout(first)
      window.clearInterval(timer)
    }
  }, [refresh])

  async function loadMore() {
    if (!next) return
    const page = await api.listFlows(next)
    setFlows((current) => [...(current ?? []), ...page.items])
    setNext(page.next)
  }

  async function createFrom(document: FlowDocument) {
    try {
      const created = await api.createFlow(structuredClone(document))
      navigate(`/flows/${created.id}`)
    } catch (error) {
      setNotice({ kind: 'error', text: error instanceof ApiError ? error.message : 'Could not create the flow.' })
    }
  }

  async function importFile(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0]
    event.target.value = ''
    if (!file) return
    setNotice(null)
    let document: unknown
    try {
      document = JSON.parse(await file.text())
    } catch (error) {
      const reason = error instanceof Error ? error.message : ''
      setImportFailure({
        file: file.name,
        document: null,
        error: `"${file.name}" is not a flow file: it is not valid JSON${reason ? ` (${reason})` : ''}.`,
        problems: [],
      })
      return
    }
    try {
      const flow = await api.importFlow(document)
      setNotice({ kind: 'ok', text: `Imported "${flow.name}".` })
      await refresh()
    } catch (error) {
      if (error instanceof ApiError && error.status !== 0) {
        setImportFailure({ file: file.name, document, error: error.message, problems: error.problems })
      } else {
        setNotice({ kind: 'error', text: error instanceof Error ? error.message : 'The import failed.' })
      }
    }
  }

  async function exportFlow(flow: FlowSummary) {
    try {
      const document = await api.exportFlow(flow.id)
      downloadJson(document, fileNameFor(flow.name))
      setNotice({ kind: 'ok', text: `Exported "${flow.name}".` })
    } catch (error) {
      const problems = error instanceof ApiError ? error.problems : []
      const text = error instanceof ApiError ? error.message : 'The export failed.'
      setNotice({ kind: 'error', text: problems.length ? `${text} Open the flow to see what to fix.` : text })
    }
  }

  async function duplicate(flow: FlowSummary) {
    try {
      const detail = await api.getFlow(flow.id)
      await api.createFlow({ ...detail.document, name: `${detail.name} (copy)` })
      setNotice({ kind: 'ok', text: `Duplicated "${flow.name}".` })
      await refresh()
    } catch (error) {
      setNotice({ kind: 'error', text: error instanceof ApiError ? error.message : 'Could not duplicate the flow.' })
    }
  }

  async function confirmDelete() {
    if (!deleting) return
    const flow = deleting
    setDeleting(null)
    try {
      await api.deleteFlow(flow.id)
      setNotice({ kind: 'ok', text: `Deleted "${flow.name}".` })
      await refresh()
    } catch (error) {
      setNotice({ kind: 'error', text: error instanceof ApiError ? error.message : 'Could not delete the flow.' })
    }
  }

  return (
    <main className="page">
      <div className="page-head">
        <h1>Flows</h1>
        <span className="spacer" />
        <button type="button" className="primary" onClick={() => void createFrom(BLANK)}>
          New flow
        </button>
        <button type="button" onClick={() => setChoosingExample(true)}>
          Start from an example
        </button>
        <button type="button" onClick={() => fileInput.current?.click()}>
          Import a file
        </button>
        <input
          ref={fileInput}
          type="file"
          accept=".json,application/json"
          hidden
          aria-label="Flow file to import"
          onChange={(e) => void importFile(e)}
        />
      </div>

      {notice && (
        <p className={notice.kind === 'ok' ? 'notice' : 'error-box'} role={notice.kind === 'ok' ? 'status' : 'alert'}>
          {notice.text}
        </p>
      )}
      {loadError && (
        <p className="error-box" role="alert">
          {loadError}
        </p>
      )}

      {flows === null && !loadError && <p role="status">Loading your flows…</p>}
      {flows && flows.length === 0 && (
        <div className="empty card">
          <h2>No flows yet</h2>
          <p>Start with a blank canvas, one of the examples, or a flow file exported from Castflow.</p>
        </div>
      )}
      {flows && flows.length > 0 && (
        <table className="flows">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Last edited</th>
              <th scope="col">Contacts in this flow</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {flows.map((flow) => (
              <tr key={flow.id}>
                <td>
                  <Link to={`/flows/${flow.id}`} className="flow-name">
                    {flow.name}
                  </Link>
                </td>
                <td>
                  <span className={`status status-${flow.status}`}>{STATUS_WORDS[flow.status] ?? flow.status}</span>
                </td>
                <td title={new Date(flow.updated_at).toLocaleString()}>{relativeTime(flow.updated_at)}</td>
                <td>{describeRuns(flow.runs)}</td>
                <td className="row-actions">
                  <button type="button" className="small" aria-label={`Export ${flow.name}`} onClick={() => void exportFlow(flow)}>
                    Export
                  </button>
                  <button type="button" className="small" aria-label={`Duplicate ${flow.name}`} onClick={() => void duplicate(flow)}>
                    Duplicate
                  </button>
                  <button type="button" className="small danger" aria-label={`Delete ${flow.name}`} onClick={() => setDeleting(flow)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={() => void loadMore()}>
          Show more flows
        </button>
      )}

      {choosingExample && (
        <Dialog title="Start from an example" onClose={() => setChoosingExample(false)} wide>
          <ul className="examples">
            {EXAMPLES.map((example) => (
              <li key={example.key} className="card">
                <h3>{example.document.name}</h3>
                <p>{example.document.description}</p>
                <button
                  type="button"
                  aria-label={`Use the example ${example.document.name}`}
                  onClick={() => {
                    setChoosingExample(false)
                    void createFrom(example.document)
                  }}
                >
                  Use this example
                </button>
              </li>
            ))}
          </ul>
        </Dialog>
      )}

      {deleting && (
        <Dialog
          title={`Delete "${deleting.name}"?`}
          onClose={() => setDeleting(null)}
          actions={
            <>
              <button type="button" onClick={() => setDeleting(null)} data-autofocus>
                Keep it
              </button>
              <button type="button" className="danger" onClick={() => void confirmDelete()}>
                Delete flow
              </button>
            </>
          }
        >
          <p>
            The flow and its history will be gone for good.
            {deleting.status === 'live' && ' It is live: pause it first, so that no contact is left halfway.'}
          </p>
        </Dialog>
      )}

      {importFailure && <ImportProblems {...importFailure} onClose={() => setImportFailure(null)} />}
    </main>
  )
}

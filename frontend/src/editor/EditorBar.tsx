// The bar above the canvas: the flow's name, status, save state, undo/redo, layout, modes,
// publish / pause / resume.
import { useReactFlow } from '@xyflow/react'
import { useState } from 'react'
import { Link } from 'react-router'
import { api, ApiError } from '../api/client'
import { STATUS_WORDS } from '../lib/format'
import { saveNow } from './saver'
import { useEditor, type Mode } from './store'

export function EditorBar({ onNotice }: { onNotice: (text: string, kind?: 'ok' | 'error') => void }) {
  const meta = useEditor((s) => s.meta)
  const status = useEditor((s) => s.status)
  const version = useEditor((s) => s.version)
  const mode = useEditor((s) => s.mode)
  const canUndo = useEditor((s) => s.past.length > 0)
  const canRedo = useEditor((s) => s.future.length > 0)
  const { updateMeta, undo, redo, layout, setMode } = useEditor.getState()
  const flow = useReactFlow()
  const [busy, setBusy] = useState(false)

  async function act(action: 'publish' | 'pause' | 'resume') {
    const state = useEditor.getState()
    if (state.flowId === null) return
    setBusy(true)
    try {
      if (!(await saveNow())) {
        onNotice('Save the flow first: it could not be saved.', 'error')
        return
      }
      if (action === 'publish') {
        await api.publish(state.flowId)
        const detail = await api.getFlow(state.flowId)
        useEditor.getState().setStatus(detail.status, detail.version)
        useEditor.getState().setProblems(detail.problems)
        onNotice(`Published version ${detail.version?.number ?? ''}: contacts now enter this flow.`)
      } else {
        const updated = (await (action === 'pause' ? api.pause(state.flowId) : api.resume(state.flowId))) as { status?: 'live' | 'paused' }
        useEditor.getState().setStatus(updated.status ?? (action === 'pause' ? 'paused' : 'live'))
        onNotice(action === 'pause' ? 'Paused: no one moves on until you resume.' : 'Resumed: the flow is live again.')
      }
    } catch (error) {
      if (error instanceof ApiError && error.problems.length) {
        useEditor.getState().setProblems(error.problems, 'Not published: fix these problems first.')
        onNotice(`${error.message} See the problems below the canvas.`, 'error')
      } else {
        onNotice(error instanceof Error ? error.message : 'That did not work.', 'error')
      }
    } finally {
      setBusy(false)
    }
  }

  const modes: Array<[Mode, string]> = [
    ['build', 'Build'],
    ['dryrun', 'Dry run'],
    ['live', 'Live results'],
  ]

  return (
    <div className="editor-bar" role="toolbar" aria-label="Flow tools">
      <Link to="/" className="back">
        ← All flows
      </Link>
      <input className="flow-title" aria-label="Flow name" value={meta.name} onChange={(e) => updateMeta({ name: e.target.value })} />
      <span className={`status status-${status}`} role="status" aria-label={`Status: ${STATUS_WORDS[status]}`}>
        {STATUS_WORDS[status]}
        {version && status !== 'draft' ? ` · v${version.number}` : ''}
      </span>
      <SaveState />
      <span className="spacer" />
      <div className="button-group">
        <button type="button" className="small" onClick={undo} disabled={!canUndo} title="Ctrl+Z">
          Undo
        </button>
        <button type="button" className="small" onClick={redo} disabled={!canRedo} title="Ctrl+Shift+Z">
          Redo
        </button>
        <button type="button" className="small" onClick={() => { layout(); window.requestAnimationFrame(() => void flow.fitView({ padding: 0.2, maxZoom: 1, duration: 200 })) }}>
          Auto-layout
        </button>
        <button type="button" className="small" onClick={() => void flow.fitView({ padding: 0.2, maxZoom: 1, duration: 200 })}>
          Fit to screen
        </button>
      </div>
      <div className="button-group modes" role="group" aria-label="View">
        {modes.map(([value, label]) => (
          <button key={value} type="button" className="small" aria-pressed={mode === value} onClick={() => setMode(value)}>
            {label}
          </button>
        ))}
      </div>
      <div className="button-group">
        {status === 'live' && (
          <button type="button" disabled={busy} onClick={() => void act('pause')}>
            Pause
          </button>
        )}
        {status === 'paused' && (
          <button type="button" disabled={busy} onClick={() => void act('resume')}>
            Resume
          </button>
        )}
        <button type="button" className="primary" disabled={busy} onClick={() => void act('publish')}>
          {status === 'draft' ? 'Publish' : 'Publish changes'}
        </button>
      </div>
    </div>
  )
}

function SaveState() {
  const revision = useEditor((s) => s.revision)
  const savedRevision = useEditor((s) => s.savedRevision)
  const saving = useEditor((s) => s.saving)
  const error = useEditor((s) => s.saveError)
  let text = 'Saved'
  let className = 'save-state saved'
  if (error) {
    text = `Not saved: ${error}`
    className = 'save-state failed'
  } else if (saving) {
    text = 'Saving…'
    className = 'save-state saving'
  } else if (revision > savedRevision) {
    text = 'Unsaved changes'
    className = 'save-state dirty'
  }
  return (
    <span className={className} aria-live="polite" data-testid="save-state">
      {text}
      {error && (
        <button type="button" className="link" onClick={() => void saveNow()}>
          Try again
        </button>
      )}
    </span>
  )
}

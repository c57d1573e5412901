// The flow editor: palette, canvas, side panel, problems; loaded for /flows/:flowId.
import { ReactFlowProvider } from '@xyflow/react'
import { useCallback, useEffect, useState } from 'react'
import { Link, useParams } from 'react-router'
import { api, ApiError } from '../api/client'
import { loadFlow, loadKinds } from '../api/kinds'
import { Canvas } from './Canvas'
import { DryRunPanel } from './DryRunPanel'
import { EditorBar } from './EditorBar'
import { LivePanel } from './LivePanel'
import { Palette } from './Palette'
import { ProblemsPanel } from './ProblemsPanel'
import { saveNow, useAutosave } from './saver'
import { SidePanel } from './SidePanel'
import { useEditor } from './store'

function isTyping(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null
  if (!element) return false
  return element.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(element.tagName)
}

function Shortcuts({ onNotice }: { onNotice: (text: string) => void }) {
  useEffect(() => {
    const handle = (event: KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return
      const key = event.key.toLowerCase()
      const editor = useEditor.getState()
      if (key === 's') {
        event.preventDefault()
        void saveNow()
        return
      }
      if (isTyping(event.target)) return // the text box's own undo, copy and paste
      if (key === 'z' && !event.shiftKey) {
        event.preventDefault()
        editor.undo()
      } else if ((key === 'z' && event.shiftKey) || key === 'y') {
        event.preventDefault()
        editor.redo()
      } else if (key === 'c') {
        const copied = editor.copySelection()
        if (copied) onNotice(copied === 1 ? 'Copied 1 step.' : `Copied ${copied} steps.`)
      } else if (key === 'v') {
        const pasted = editor.paste()
        if (pasted) {
          event.preventDefault()
          onNotice(pasted === 1 ? 'Pasted 1 step.' : `Pasted ${pasted} steps.`)
        }
      } else if (key === 'a') {
        event.preventDefault()
        useEditor.setState((s) => ({ nodes: s.nodes.map((n) => (n.selected ? n : { ...n, selected: true })) }))
      }
    }
    window.addEventListener('keydown', handle)
    return () => window.removeEventListener('keydown', handle)
  }, [onNotice])
  return null
}

function EditorLayout() {
  const mode = useEditor((s) => s.mode)
  const [notice, setNotice] = useState<{ text: string; kind: 'ok' | 'error' } | null>(null)
  const onNotice = useCallback((text: string, kind: 'ok' | 'error' = 'ok') => setNotice({ text, kind }), [])
  useAutosave()
  useEffect(() => {
    if (!notice || notice.kind === 'error') return
    const timer = window.setTimeout(() => setNotice(null), 6000)
    return () => window.clearTimeout(timer)
  }, [notice])

  return (
    <div className="editor">
      <EditorBar onNotice={onNotice} />
      {notice && (
        <div className={notice.kind === 'ok' ? 'notice editor-notice' : 'error-box editor-notice'} role={notice.kind === 'ok' ? 'status' : 'alert'}>
          {notice.text}
          <button type="button" className="icon" aria-label="Dismiss" onClick={() => setNotice(null)}>
            ×
          </button>
        </div>
      )}
      <div className="editor-body">
        <Palette />
        <div className="editor-centre">
          <Canvas />
          <ProblemsPanel />
        </div>
        <aside className="side-panel" aria-label="Side panel">
          {mode === 'build' && <SidePanel />}
          {mode === 'dryrun' && <DryRunPanel />}
          {mode === 'live' && <LivePanel />}
        </aside>
      </div>
      <Shortcuts onNotice={onNotice} />
      <div id="announcer" className="visually-hidden" aria-live="polite" />
    </div>
  )
}

export default function EditorPage() {
  const { flowId } = useParams()
  const id = Number(flowId)
  const valid = Number.isInteger(id) && id > 0
  // What was loaded, for which flow: another flow id means loading again.
  const [loaded, setLoaded] = useState<{ id: number; outcome: 'ready' | { error: string } } | null>(null)
  const state = !valid ? { error: 'There is no such flow.' } : loaded?.id === id ? loaded.outcome : 'loading'

  useEffect(() => {
    if (!valid) return
    let cancelled = false
    performance.mark('castflow:editor-start')
    Promise.all([loadKinds(), loadFlow(id)])
      .then(([kinds, detail]) => {
        if (cancelled) return
        performance.mark('castflow:flow-fetched')
        useEditor.getState().load(detail, kinds)
        setLoaded({ id, outcome: 'ready' })
        // Contacts for previews, condition fields and dry runs; not needed to start editing.
        api
          .listContacts(200)
          .then((page) => !cancelled && useEditor.getState().setContacts(page.items))
          .catch(() => undefined)
      })
      .catch((error: unknown) => {
        if (!cancelled) setLoaded({ id, outcome: { error: error instanceof ApiError ? error.message : 'The flow could not be loaded.' } })
      })
    return () => {
      cancelled = true
    }
  }, [id, valid])

  if (state === 'loading') return <p className="loading" role="status">Opening the flow…</p>
  if (typeof state === 'object') {
    return (
      <main className="page">
        <p className="error-box" role="alert">
          {state.error}
        </p>
        <Link to="/">Back to your flows</Link>
      </main>
    )
  }
  return (
    <ReactFlowProvider>
      <EditorLayout />
    </ReactFlowProvider>
  )
}

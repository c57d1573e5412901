// Saving the draft: one request at a time, always the latest document, problems back from the
// server after every save.
import { useEffect } from 'react'
import { api, ApiError } from '../api/client'
import { useEditor } from './store'

export const AUTOSAVE_DELAY_MS = 700

let inFlight: Promise<void> | null = null

/** Saves the draft if it changed; true when everything is saved. */
export async function saveNow(): Promise<boolean> {
  while (inFlight) await inFlight
  const state = useEditor.getState()
  if (state.flowId === null || state.revision <= state.savedRevision) return !state.saveError
  const revision = state.revision
  const document = state.document()
  state.setSaving(true)
  let ok = true
  inFlight = api
    .saveFlow(state.flowId, document)
    .then((detail) => useEditor.getState().savedAs(revision, detail))
    .catch((error: unknown) => {
      ok = false
      useEditor.getState().saveFailed(error instanceof ApiError ? error.message : 'The draft could not be saved.')
    })
  try {
    await inFlight
  } finally {
    inFlight = null
  }
  return ok
}

/** Saves the draft shortly after the last change (well within 2 s), and before leaving. */
export function useAutosave(): void {
  const revision = useEditor((s) => s.revision)
  const saving = useEditor((s) => s.saving)
  const savedRevision = useEditor((s) => s.savedRevision)
  const saveError = useEditor((s) => s.saveError)

  useEffect(() => {
    if (saving || revision <= savedRevision) return
    // After a failure, wait for the next change (or "Try again") rather than retrying forever.
    const delay = saveError ? 5000 : AUTOSAVE_DELAY_MS
    const timer = window.setTimeout(() => void saveNow(), delay)
    return () => window.clearTimeout(timer)
  }, [revision, saving, savedRevision, saveError])

  useEffect(() => {
    const warn = (event: BeforeUnloadEvent) => {
      const state = useEditor.getState()
      if (state.revision > state.savedRevision) {
        void saveNow()
        event.preventDefault()
      }
    }
    window.addEventListener('beforeunload', warn)
    return () => {
      window.removeEventListener('beforeunload', warn)
      void saveNow() // leaving the editor inside the app
    }
  }, [])
}

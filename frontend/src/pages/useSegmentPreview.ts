// The live count of a rule being edited: one preview request a moment after the rule stops
// changing, answers to older versions of the rule dropped, the refusal shown in its own words.
import { useEffect, useRef, useState } from 'react'
import { api, ApiError } from '../api/client'
import type { ContactRow } from '../api/types'

export const PREVIEW_DELAY_MS = 400

export type Preview =
  | { state: 'empty' }
  | { state: 'counting'; last: { count: number; sample: ContactRow[] } | null }
  | { state: 'done'; count: number; sample: ContactRow[] }
  | { state: 'refused'; error: string }

export function useSegmentPreview(rule: unknown): Preview {
  const text = JSON.stringify(rule ?? null)
  // A stored rule is counted as the page opens: "counting" from the start, not "add a condition".
  const [preview, setPreview] = useState<Preview>(() => (text === 'null' ? { state: 'empty' } : { state: 'counting', last: null }))
  const asked = useRef(0)

  useEffect(() => {
    const ask = ++asked.current
    if (text === 'null') {
      const timer = window.setTimeout(() => setPreview({ state: 'empty' }), 0)
      return () => window.clearTimeout(timer)
    }
    const timer = window.setTimeout(() => {
      setPreview((current) => ({
        state: 'counting',
        last: current.state === 'done' ? { count: current.count, sample: current.sample } : current.state === 'counting' ? current.last : null,
      }))
      api.previewSegment(JSON.parse(text)).then(
        (answer) => {
          if (ask === asked.current) setPreview({ state: 'done', count: answer.count, sample: answer.sample ?? [] })
        },
        (failure: unknown) => {
          if (ask !== asked.current) return
          setPreview({ state: 'refused', error: failure instanceof ApiError ? failure.message : 'The count failed.' })
        },
      )
    }, PREVIEW_DELAY_MS)
    return () => window.clearTimeout(timer)
  }, [text])

  return preview
}

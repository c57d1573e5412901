// Live results of a published flow: counts per step and port, refreshed while the view is open.
import { useEffect, useState } from 'react'
import { api, ApiError } from '../api/client'
import type { FlowStats } from '../api/types'
import { describeRuns } from '../lib/format'
import { useEditor } from './store'

export const LIVE_REFRESH_MS = 2000

export function LivePanel() {
  const flowId = useEditor((s) => s.flowId)
  const status = useEditor((s) => s.status)
  const version = useEditor((s) => s.version)
  const setCounts = useEditor((s) => s.setCounts)
  const [stats, setStats] = useState<FlowStats | null>(null)
  const [updated, setUpdated] = useState<Date | null>(null)
  const [error, setError] = useState('')

  useEffect(() => {
    if (flowId === null || !version) return
    let cancelled = false
    let timer = 0
    const tick = async () => {
      try {
        const found = await api.stats(flowId)
        if (cancelled) return
        setStats(found)
        setCounts(found.nodes)
        setUpdated(new Date())
        setError('')
      } catch (caught) {
        if (!cancelled) setError(caught instanceof ApiError ? caught.message : 'Could not load the live results.')
      }
      // Refresh while the page is open and visible.
      if (!cancelled) timer = window.setTimeout(() => void tick(), document.hidden ? LIVE_REFRESH_MS * 5 : LIVE_REFRESH_MS)
    }
    void tick()
    return () => {
      cancelled = true
      window.clearTimeout(timer)
    }
  }, [flowId, version, setCounts])

  if (!version) {
    return (
      <section className="side-section" aria-label="Live results">
        <h2>Live results</h2>
        <p>This flow has not been published yet. Publish it to see how many contacts go through each step.</p>
      </section>
    )
  }
  const entered = stats ? Object.values(stats.runs).reduce((a, b) => a + b, 0) : 0
  return (
    <section className="side-section" aria-label="Live results">
      <h2>Live results</h2>
      <p>
        {status === 'paused' ? 'Paused. ' : status === 'live' ? 'Live. ' : ''}Version {version.number}, published {new Date(version.published_at).toLocaleString()}.
      </p>
      {stats && (
        <p role="status" aria-label="Live totals">
          {entered} contact{entered === 1 ? '' : 's'} entered: {describeRuns(stats.runs)}.
        </p>
      )}
      <p className="help">The numbers on the steps count contacts who reached them and the way they left. They refresh every few seconds.</p>
      {updated && <p className="muted">Updated at {updated.toLocaleTimeString()}.</p>}
      {error && (
        <p className="error-box" role="alert">
          {error}
        </p>
      )}
    </section>
  )
}

// All segments: key, name, how many members, when last changed; create a new one.
import { useEffect, useState } from 'react'
import { Link, useNavigate } from 'react-router'
import { api, ApiError } from '../api/client'
import type { Segment } from '../api/types'
import { relativeTime } from '../lib/format'
import { describeCondition } from '../lib/condition'
import { SEGMENT_LOGIC } from '../lib/segmentRule'
import './people.css'

export function SegmentsPage() {
  const navigate = useNavigate()
  const [segments, setSegments] = useState<Segment[] | null>(null)
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState('')

  useEffect(() => {
    api.listSegments().then(
      (page) => {
        setSegments(page.items)
        setNext(page.next)
      },
      (failure: unknown) => setError(failure instanceof ApiError ? failure.message : 'Could not load the segments.'),
    )
  }, [])

  async function loadMore() {
    if (!next) return
    try {
      const page = await api.listSegments(next)
      setSegments((current) => [...(current ?? []), ...page.items])
      setNext(page.next)
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : 'Could not load more segments.')
    }
  }

  return (
    <main className="page">
      <div className="page-head">
        <h1>Segments</h1>
        <span className="spacer" />
        <button type="button" className="primary" onClick={() => navigate('/segments/_new')}>
          New segment
        </button>
      </div>
      {error && (
        <p className="error-box" role="alert">
          {error}
        </p>
      )}
      {segments === null && !error && <p role="status">Loading segments…</p>}
      {segments && segments.length === 0 && (
        <div className="empty card">
          <h2>No segments yet</h2>
          <p>A segment is a group of contacts that keeps itself current: "bought 3 times in 90 days", "no email opened for 3 weeks".</p>
        </div>
      )}
      {segments && segments.length > 0 && (
        <table className="flows" aria-label="Segments">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Members</th>
              <th scope="col">Rule</th>
              <th scope="col">Last changed</th>
            </tr>
          </thead>
          <tbody>
            {segments.map((segment) => (
              <tr key={segment.key}>
                <td>
                  <Link to={`/segments/${encodeURIComponent(segment.key)}`} className="flow-name">
                    {segment.name}
                  </Link>
                </td>
                <td className="mono">{segment.key}</td>
                <td>{typeof segment.count === 'number' ? segment.count.toLocaleString('en-GB') : <span className="muted">—</span>}</td>
                <td className="muted">{describeCondition(segment.rule, SEGMENT_LOGIC)}</td>
                <td title={segment.updated_at ? new Date(segment.updated_at).toLocaleString() : undefined}>
                  {segment.updated_at ? relativeTime(segment.updated_at) : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={() => void loadMore()}>
          Show more segments
        </button>
      )}
    </main>
  )
}

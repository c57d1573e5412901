// A segment's members, a page at a time ("Show more" follows the cursor), each linking to the
// profile, with since when and why they are members when the membership table knows.
import { useEffect, useState } from 'react'
import { Link } from 'react-router'
import { api, ApiError } from '../api/client'
import type { Segment, SegmentMember } from '../api/types'
import { contactName, valueText } from '../lib/contact'
import { utcTime } from '../lib/format'

const PAGE = 50

export function SegmentMembers({ segment }: { segment: Segment }) {
  const [members, setMembers] = useState<SegmentMember[] | null>(null)
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState('')

  async function load(cursor: string | null) {
    try {
      const page = await api.segmentMembers(segment.key, PAGE, cursor)
      setMembers((current) => [...(cursor ? (current ?? []) : []), ...page.items])
      setNext(page.next)
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : 'Could not load the members.')
    }
  }

  useEffect(() => {
    let current = true
    api.segmentMembers(segment.key, PAGE).then(
      (page) => {
        if (!current) return
        setMembers(page.items)
        setNext(page.next)
      },
      (failure: unknown) => current && setError(failure instanceof ApiError ? failure.message : 'Could not load the members.'),
    )
    return () => {
      current = false
    }
  }, [segment.key])

  return (
    <section className="card members" aria-labelledby="members-title">
      <h2 id="members-title">
        Members{typeof segment.count === 'number' ? ` (${segment.count.toLocaleString('en-GB')})` : ''}
      </h2>
      {error && (
        <p className="error-box" role="alert">
          {error}
        </p>
      )}
      {members === null && !error && <p role="status">Loading members…</p>}
      {members && members.length === 0 && <p className="muted">No contact is in this segment now.</p>}
      {members && members.length > 0 && (
        <table className="flows people" aria-label="Members">
          <thead>
            <tr>
              <th scope="col">Contact</th>
              <th scope="col">Email</th>
              <th scope="col">Member since</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {members.map(({ contact, since, reason }) => (
              <tr key={contact.id}>
                <td>
                  <Link to={`/contacts/${encodeURIComponent(contact.id)}`}>{contactName(contact) ?? contact.id}</Link>
                </td>
                <td>{contact.email ?? <span className="muted">—</span>}</td>
                <td>{since ? utcTime(since) : <span className="muted">being updated</span>}</td>
                <td className="muted">{reason ? valueText(reason) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={() => void load(next)}>
          Show more members
        </button>
      )}
    </section>
  )
}

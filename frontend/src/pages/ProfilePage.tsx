// One customer in one place: attributes, addresses, consent, topic preferences, segments, and
// the timeline of what happened to them.
import { useEffect, useState, type ReactNode } from 'react'
import { Link, useParams } from 'react-router'
import { api, ApiError } from '../api/client'
import type { ContactDetail } from '../api/types'
import { channelName } from '../lib/channels'
import { consentLines, CONSENT_WORDS, contactName, valueText } from '../lib/contact'
import { utcTime } from '../lib/format'
import { flowNodes, type FlowNodes } from '../lib/timeline'
import { Timeline } from './Timeline'
import './people.css'

export function ProfilePage() {
  const { contactId = '' } = useParams()
  const [contact, setContact] = useState<ContactDetail | null>(null)
  const [error, setError] = useState('')
  const [flows, setFlows] = useState<Record<number, FlowNodes>>({})

  useEffect(() => {
    let current = true
    api.getContact(contactId).then(
      (found) => {
        if (!current) return
        setContact(found)
        // The flows its runs went through, for node labels and the channel a failed send tried.
        const ids = [...new Set((found.timeline?.runs ?? []).map((run) => run.flow.id))]
        for (const id of ids) {
          api.getFlow(id).then(
            (flow) => current && setFlows((known) => ({ ...known, [id]: flowNodes(flow.document) })),
            () => undefined, // a deleted flow: its runs show node ids
          )
        }
      },
      (failure: unknown) => current && setError(failure instanceof ApiError ? failure.message : 'Could not load the contact.'),
    )
    return () => {
      current = false
    }
  }, [contactId])

  if (error) {
    return (
      <main className="page">
        <p>
          <Link to="/contacts">← All contacts</Link>
        </p>
        <p className="error-box" role="alert">
          {error}
        </p>
      </main>
    )
  }
  if (!contact) return <p className="loading" role="status">Loading the contact…</p>

  const name = contactName(contact)
  return (
    <main className="page profile">
      <p className="crumbs">
        <Link to="/contacts">← All contacts</Link>
      </p>
      <div className="page-head">
        <h1>{name ?? contact.id}</h1>
        {name && <span className="muted mono">{contact.id}</span>}
      </div>
      <div className="profile-grid">
        <Attributes contact={contact} />
        <Addresses contact={contact} />
        <Consent contact={contact} />
        <Preferences contact={contact} />
        <Memberships contact={contact} />
      </div>
      <Timeline contact={contact} flows={flows} />
    </main>
  )
}

function Card({ title, children }: { title: string; children: ReactNode }) {
  const id = `card-${title.toLowerCase().replace(/\W+/g, '-')}`
  return (
    <section className="card profile-card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  )
}

function Pairs({ label, pairs, empty }: { label: string; pairs: Array<[string, ReactNode]>; empty: string }) {
  if (!pairs.length) return <p className="muted">{empty}</p>
  return (
    <dl className="pairs" aria-label={label}>
      {pairs.map(([key, value], index) => (
        <div key={`${key}-${index}`}>
          <dt>{key}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  )
}

function Attributes({ contact }: { contact: ContactDetail }) {
  const pairs = Object.entries(contact.attributes ?? {}).map(([key, value]): [string, ReactNode] => [
    key.replace(/_/g, ' '),
    valueText(value),
  ])
  return (
    <Card title="Attributes">
      <Pairs label="Attributes" pairs={pairs} empty="No attributes." />
    </Card>
  )
}

function Addresses({ contact }: { contact: ContactDetail }) {
  const pairs: Array<[string, ReactNode]> = []
  if (contact.email) pairs.push(['Email', contact.email])
  if (contact.phone) pairs.push(['Phone (SMS and voice)', contact.phone])
  for (const token of contact.push_tokens ?? []) pairs.push(['Push token', <span key={token} className="mono">{token}</span>])
  for (const [app, handle] of Object.entries(contact.chat ?? {})) pairs.push([`Chat: ${app}`, handle])
  if (contact.timezone) pairs.push(['Time zone', contact.timezone])
  return (
    <Card title="Addresses">
      <Pairs label="Addresses" pairs={pairs} empty="No address: no channel can reach this contact." />
    </Card>
  )
}

function Consent({ contact }: { contact: ContactDetail }) {
  return (
    <Card title="Consent">
      <table className="mini" aria-label="Consent per channel">
        <tbody>
          {consentLines(contact).map((line) => (
            <tr key={line.channel}>
              <th scope="row">{channelName(line.channel)}</th>
              <td>
                <span className={`consent consent-${line.state}`}>{CONSENT_WORDS[line.state]}</span>
              </td>
              <td className="muted" title={line.since ? utcTime(line.since) : undefined}>
                {line.since ? `since ${shortDate(line.since)}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  )
}

function Preferences({ contact }: { contact: ContactDetail }) {
  const pairs = Object.entries(contact.preferences ?? {}).map(([topic, channel]): [string, ReactNode] => [
    topic.replace(/_/g, ' '),
    channelName(channel),
  ])
  return (
    <Card title="Topic preferences">
      <Pairs label="Preferred channel per topic" pairs={pairs} empty="No preferred channel for any topic." />
    </Card>
  )
}

function Memberships({ contact }: { contact: ContactDetail }) {
  const segments = contact.segments
  return (
    <Card title="Segments">
      {segments === undefined && <p className="muted">Segment memberships are not available from this server yet.</p>}
      {segments && segments.length === 0 && <p className="muted">In no segment.</p>}
      {segments && segments.length > 0 && (
        <ul className="memberships" aria-label="Segment memberships">
          {segments.map((segment) => (
            <li key={segment.key}>
              <Link to={`/segments/${encodeURIComponent(segment.key)}`}>{segment.name || segment.key}</Link>
              <span className="muted">
                {segment.since ? ` since ${utcTime(segment.since)}` : ''}
                {segment.reason ? ` · ${valueText(segment.reason)}` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  )
}

/** "22 Nov 2026" (the full time is in the title). */
function shortDate(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return date.toLocaleDateString('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' })
}

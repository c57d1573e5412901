import { render, screen, within } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { describe, expect, it } from 'vitest'
import type { ContactDetail } from '../api/types'
import { flowNodes } from '../lib/timeline'
import { Timeline } from './Timeline'

const AT = '2026-11-23T02:38:00Z'

function contact(flowKnown: boolean): ContactDetail {
  return {
    id: 'ann',
    timeline: {
      events: [],
      runs: flowKnown
        ? [{
            id: 5, flow: { id: 7, name: 'Ping mail' }, status: 'completed', node: null, started_at: AT,
            updated_at: AT, waiting_until: null, awaiting: null, reason: null,
            path: [{ node: 'start', at: AT, port: 'next' }, { node: 'mail', at: AT, port: 'failed', reason: 'suppressed' }],
          }]
        : [],
      messages: [{
        id: 1, contact: 'ann', flow: flowKnown ? 7 : null, node: 'mail', channel: 'email', to: 'ann@example.com',
        topic: null, content: null, status: 'refused', reason: 'suppressed', created_at: AT, updated_at: AT,
      }],
    },
  } as ContactDetail
}

function messageEntry() {
  const list = screen.getByRole('list', { name: 'Timeline, newest first' })
  return within(list).getAllByRole('listitem').find((item) => item.textContent?.includes('ann@example.com'))!
}

describe('Timeline', () => {
  it('says which flow and step a message came from, and why it was not sent', () => {
    const nodes = flowNodes({ nodes: [{ id: 'mail', type: 'send', label: 'Ping mail step', config: { channel: 'email' } }] })
    render(
      <MemoryRouter>
        <Timeline contact={contact(true)} flows={{ 7: nodes }} />
      </MemoryRouter>,
    )
    const entry = messageEntry()
    expect(entry.textContent).toContain('from Ping mail, step "Ping mail step"')
    expect(within(entry).getByRole('link', { name: 'Ping mail' }).getAttribute('href')).toBe('/flows/7')
    expect(entry.textContent).toContain('Not sent: the address is on the suppression list for Email')
  })

  it('leaves the origin out for a message of a deleted flow', () => {
    render(
      <MemoryRouter>
        <Timeline contact={contact(false)} />
      </MemoryRouter>,
    )
    expect(messageEntry().textContent).not.toContain('from ')
  })
})

import { describe, expect, it } from 'vitest'
import type { ContactDetail, MessageRow, TimelineRun } from '../api/types'
import { flowNodes, mergeTimeline, reasonWords, runProblems, stepWords } from './timeline'

function message(id: number, at: string, status: string, reason: string | null = null): MessageRow {
  return {
    id, contact: 'c-1', flow: 1, node: 'hello', channel: 'sms', to: '+393401234567', topic: null,
    content: null, status, reason, created_at: at, updated_at: at,
  }
}

function run(id: number, at: string, path: TimelineRun['path']): TimelineRun {
  return {
    id, flow: { id: 1, name: 'Welcome' }, status: 'completed', node: null, started_at: at, updated_at: at,
    waiting_until: null, awaiting: null, reason: null, path,
  }
}

describe('the contact timeline', () => {
  it('merges events, runs, messages and segment changes, newest first', () => {
    const timeline: ContactDetail['timeline'] = {
      events: [
        { id: 'e1', name: 'signed_up', at: '2026-01-01T09:00:00Z', properties: {} },
        { id: 'e2', name: 'purchased', at: '2026-01-03T09:00:00Z', properties: { total: 80 } },
      ],
      runs: [run(7, '2026-01-01T09:00:00Z', [])],
      messages: [message(3, '2026-01-02T09:00:00Z', 'sent'), message(4, '2026-01-01T09:00:00Z', 'refused', 'opted_out')],
      segments: [{ key: 'buyers', name: 'Buyers', kind: 'entered', at: '2026-01-03T09:00:01Z', reason: 'event purchased' }],
    }
    const entries = mergeTimeline(timeline)
    expect(entries.map((e) => `${e.kind}@${e.at.slice(0, 10)}`)).toEqual([
      'segment@2026-01-03',
      'event@2026-01-03',
      'message@2026-01-02',
      // the same instant: the message, then the run that wrote it, then the event that started it
      'message@2026-01-01',
      'run@2026-01-01',
      'event@2026-01-01',
    ])
  })

  it('takes a timeline without segment changes (older servers)', () => {
    expect(mergeTimeline({ events: [], runs: [], messages: [message(1, '2026-01-01T00:00:00Z', 'sent')] })).toHaveLength(1)
    expect(mergeTimeline(undefined)).toEqual([])
  })

  it('says why a message did not go out in plain words', () => {
    expect(reasonWords('opted_out', 'sms')).toBe('the contact has opted out of SMS')
    expect(reasonWords('no_address', 'email')).toBe('the contact has no email address for Email')
    expect(reasonWords('no_address', 'push')).toContain('push token')
    expect(reasonWords('capped', 'email')).toBe(
      'the contact already got as many marketing messages on Email as the frequency caps allow (Delivery rules)',
    )
    expect(reasonWords('suppressed', 'email')).toContain('suppression list for Email')
    expect(reasonWords('provider_rejected_number', 'sms')).toBe('provider rejected number')
    expect(reasonWords(null, 'sms')).toBe('no reason was recorded')
  })

  it('points at the step of a run where a send failed, and why, naming the channel it tried', () => {
    const failed = run(1, '2026-01-01T09:00:00Z', [
      { node: 'start', at: '2026-01-01T09:00:00Z', port: 'next' },
      { node: 'pick', at: '2026-01-01T09:00:00Z', port: 'sms', reasons: { push: 'opted_out', email: 'no_address' } },
      { node: 'hello', at: '2026-01-01T09:00:00Z', port: 'failed', reason: 'opted_out' },
      { node: 'fixed', at: '2026-01-01T09:00:00Z', port: 'failed', reason: 'no_address' },
    ])
    const nodes = flowNodes({
      nodes: [
        { id: 'pick', type: 'channel_choice', label: 'Pick a channel' },
        { id: 'hello', type: 'send', label: 'Say hello', config: { channel: 'chosen' } },
        { id: 'fixed', type: 'send', config: { channel: 'email' } },
      ],
    })
    expect(runProblems(failed, nodes)).toEqual([
      'Not sent at "Say hello": the contact has opted out of SMS', // the channel Channel choice picked
      'Not sent at "fixed": the contact has no email address for Email', // the send's own channel
    ])
    // Without the flow document: the channel is unknown, the words still say why.
    expect(runProblems(failed)[1]).toBe('Not sent at "fixed": the contact has no address for this channel')
    const pick = stepWords(failed.path, 1, nodes)
    expect(pick.text).toBe(
      'Pick a channel → sms (skipped Push notification: the contact has opted out of Push notification; Email: the contact has no email address for Email)',
    )
    expect(pick.problem).toBeNull()
    expect(runProblems(run(2, '2026-01-01T09:00:00Z', [{ node: 'start', at: '2026-01-01T09:00:00Z', port: 'next' }]))).toEqual([])
  })
})

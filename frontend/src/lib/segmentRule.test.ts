import { describe, expect, it } from 'vitest'
import { describeCondition, parseCondition } from './condition'
import { describeAggregate, formatSegmentRule, newAggregate, parseAggregate, parseSegmentRule, SEGMENT_LOGIC } from './segmentRule'

const bought3 = {
  '>=': [
    { event_count: { name: 'purchased', days: 90, where: { '>': [{ var: 'properties.total' }, 50] } } },
    3,
  ],
}
const notOpened = { '==': [{ event_count: { name: 'email_opened', days: 21 } }, 0] }
const lastOpened = { '>': [{ days_since_event: { name: 'email_opened' } }, 30] }
const vip = { in_segment: 'vip' }
const notVip = { '!': { in_segment: 'vip' } }

// rule -> builder state -> rule gives back the same JsonLogic
const ROUND_TRIPS: Array<[string, unknown]> = [
  ['a count with a window and an event condition', bought3],
  ['a count without a window', { '>': [{ event_count: { name: 'login' } }, 10] }],
  ['a count compared with every operator', { '<': [{ event_count: { name: 'login', days: 7 } }, 2] }],
  ['"has not done" in a window', notOpened],
  ['"has never done"', { '==': [{ event_count: { name: 'purchased' } }, 0] }],
  ['"last did" more than N days ago', lastOpened],
  ['"last did" with an event condition', { '<=': [{ days_since_event: { name: 'purchased', where: { '==': [{ var: 'properties.plan' }, 'pro'] } } }, 7] }],
  ['"is in segment"', vip],
  ['"is not in segment"', notVip],
  ['a mix with contact conditions', { and: [{ '==': [{ var: 'contact.attributes.country' }, 'IT'] }, bought3, notOpened, vip] }],
  ['nested groups', { or: [vip, { and: [lastOpened, { '!': { in: [{ var: 'contact.attributes.lifecycle' }, ['churned']] } }] }] }],
  ['an event condition of several parts', {
    '>=': [{ event_count: { name: 'purchased', days: 30, where: { and: [{ '>': [{ var: 'properties.total' }, 50] }, { '==': [{ var: 'properties.currency' }, 'EUR'] }] } } }, 1],
  }],
]

describe('segment rules in the builder', () => {
  it.each(ROUND_TRIPS)('round-trips %s', (_, rule) => {
    const group = parseSegmentRule(rule)
    expect(group).not.toBeNull()
    expect(formatSegmentRule(group!)).toEqual(rule)
  })

  it('reads the parts of an aggregate into the builder state', () => {
    const item = parseAggregate(bought3)
    expect(item).toMatchObject({ type: 'count', event: 'purchased', op: 'gte', value: 3, days: 90 })
    expect(item!.where.rules).toEqual([{ kind: 'rule', field: 'properties.total', op: 'gt', value: 50 }])
    expect(parseAggregate(notOpened)).toMatchObject({ type: 'notDone', event: 'email_opened', days: 21 })
    expect(parseAggregate(lastOpened)).toMatchObject({ type: 'lastDone', event: 'email_opened', op: 'gt', value: 30, days: null })
    expect(parseAggregate(notVip)).toMatchObject({ type: 'inSegment', op: 'ne', segment: 'vip' })
  })

  it('reads a count written number first from the count side', () => {
    const item = parseAggregate({ '<=': [3, { event_count: { name: 'purchased', days: 90 } }] })
    expect(item).toMatchObject({ type: 'count', op: 'gte', value: 3 })
    expect(SEGMENT_LOGIC.format(item!)).toEqual({ '>=': [{ event_count: { name: 'purchased', days: 90 } }, 3] })
  })

  it.each([
    ['an unknown key in the arguments', { '>=': [{ event_count: { name: 'x', hours: 3 } }, 1] }],
    ['a window that is not a whole number of days', { '>=': [{ event_count: { name: 'x', days: 1.5 } }, 1] }],
    ['a count compared with a fraction', { '>=': [{ event_count: { name: 'x' } }, 1.5] }],
    ['two aggregates compared', { '>': [{ event_count: { name: 'a' } }, { event_count: { name: 'b' } }] }],
    ['an event condition with "any of"', { '>': [{ event_count: { name: 'a', where: { or: [{ '==': [{ var: 'properties.x' }, 1] }, { '==': [{ var: 'properties.x' }, 2] }] } } }, 0] }],
    ['last_event_at, which the builder has no words for', { '<': [{ last_event_at: { name: 'a' } }, '2026-01-01T00:00:00Z'] }],
    ['an aggregate with no comparison', { event_count: { name: 'purchased' } }],
    ['a segment key that is not text', { in_segment: 3 }],
  ])('leaves %s to the JSON view', (_, rule) => {
    expect(parseSegmentRule({ and: [vip, rule] })).toBeNull()
  })

  it('is not parsed by the canvas builder, which has no aggregates', () => {
    expect(parseCondition(vip)).toBeNull()
    expect(parseCondition(bought3)).toBeNull()
  })

  it('says each aggregate in plain words', () => {
    expect(describeCondition(bought3, SEGMENT_LOGIC)).toBe(
      'has done "purchased" at least 3 times in the last 90 days where Property total is more than 50',
    )
    expect(describeCondition(notOpened, SEGMENT_LOGIC)).toBe('has not done "email_opened" in the last 21 days')
    expect(describeCondition(lastOpened, SEGMENT_LOGIC)).toBe('last did "email_opened" more than 30 days ago')
    expect(describeCondition({ and: [vip, notVip] }, SEGMENT_LOGIC)).toBe('is in segment "vip" and is not in segment "vip"')
    expect(describeAggregate({ ...newAggregate('notDone'), event: 'purchased', days: null })).toBe('has never done "purchased"')
    expect(describeAggregate({ ...newAggregate('count'), event: 'login', value: 1, days: 1 })).toBe(
      'has done "login" at least once in the last day',
    )
  })

  it('keeps what still applies when the kind of condition changes', () => {
    const count = { ...parseAggregate(bought3)! }
    const notDone = newAggregate('notDone', count)
    expect(SEGMENT_LOGIC.format(notDone)).toEqual({
      '==': [{ event_count: { name: 'purchased', days: 90, where: { '>': [{ var: 'properties.total' }, 50] } } }, 0],
    })
    const last = newAggregate('lastDone', count)
    expect(SEGMENT_LOGIC.format(last)).toEqual({
      '>': [{ days_since_event: { name: 'purchased', where: { '>': [{ var: 'properties.total' }, 50] } } }, 30],
    })
    expect(SEGMENT_LOGIC.format(newAggregate('inSegment', count))).toEqual({ in_segment: '' })
  })
})

import { describe, expect, it } from 'vitest'
import { attributeSummary, consentLines, contactName } from './contact'

describe('a contact in words', () => {
  it('finds a name in the usual attributes', () => {
    expect(contactName({ id: 'c', attributes: { first_name: 'Anna', last_name: 'Rossi' } })).toBe('Anna Rossi')
    expect(contactName({ id: 'c', attributes: { name: 'Bill' } })).toBe('Bill')
    expect(contactName({ id: 'c', attributes: { first_name: 3 } })).toBeNull()
    expect(contactName({ id: 'c' })).toBeNull()
  })

  it('summarises a few attributes besides the name', () => {
    const attributes = { first_name: 'Anna', country: 'IT', lifecycle: 'active', vip: true, score: 4 }
    expect(attributeSummary(attributes, 2)).toBe('country: IT · lifecycle: active · +2 more')
    expect(attributeSummary({ tags: ['a', 'b'] }, 3)).toBe('tags: ["a","b"]')
  })

  it('lists consent for every channel, with when it changed', () => {
    const lines = consentLines({
      id: 'c',
      consent: { email: 'opted_in', sms: 'opted_out', fax: 'opted_in' },
      consent_changed: { sms: '2026-01-02T00:00:00Z' },
    })
    expect(lines.map((l) => [l.channel, l.state, l.since])).toEqual([
      ['email', 'opted_in', null],
      ['sms', 'opted_out', '2026-01-02T00:00:00Z'],
      ['push', 'unset', null],
      ['voice', 'unset', null],
      ['chat', 'unset', null],
      ['fax', 'opted_in', null],
    ])
  })
})

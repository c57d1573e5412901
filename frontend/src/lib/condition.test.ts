import { describe, expect, it } from 'vitest'
import { describeCondition, formatCondition, parseCondition, valueFromText, type Group } from './condition'

// JsonLogic as the builder writes it, and as people write it in the example flows.
const ROUND_TRIPS: unknown[] = [
  { '==': [{ var: 'contact.attributes.country' }, 'IT'] },
  { '>': [{ var: 'event.properties.cart_total' }, 0] },
  { '!=': [{ var: 'contact.attributes.lifecycle' }, 'churned'] },
  { '>=': [{ var: 'contact.attributes.orders' }, 3] },
  { '<': [{ var: 'contact.attributes.age' }, 30] },
  { '<=': [{ var: 'contact.attributes.age' }, 65] },
  { '<=': [18, { var: 'contact.attributes.age' }, 30] },
  { in: ['gmail', { var: 'contact.email' }] },
  { '!': { in: ['test', { var: 'contact.email' }] } },
  { in: [{ var: 'contact.attributes.country' }, ['IT', 'FR', 'DE']] },
  { '!': { in: [{ var: 'contact.attributes.country' }, ['US']] } },
  { '!!': [{ var: 'contact.phone' }] },
  { '!': [{ var: 'contact.email' }] },
  { and: [{ '==': [{ var: 'contact.attributes.country' }, 'IT'] }, { '>': [{ var: 'event.properties.total' }, 50] }] },
  { or: [{ '==': [{ var: 'a' }, 1] }, { and: [{ '==': [{ var: 'b' }, true] }, { '!!': [{ var: 'c' }] }] }] },
  { '!': { or: [{ '==': [{ var: 'a' }, 1] }, { '==': [{ var: 'b' }, 2] }] } },
  { '==': [{ var: 'contact.attributes.vip' }, null] },
]

describe('condition builder <-> JsonLogic', () => {
  it.each(ROUND_TRIPS.map((logic) => [JSON.stringify(logic), logic]))('round-trips %s', (_, logic) => {
    const group = parseCondition(logic)
    expect(group).not.toBeNull()
    expect(formatCondition(group!)).toEqual(logic)
  })

  it('reads a rule with the field written second', () => {
    const group = parseCondition({ '<': [0, { var: 'event.properties.total' }] })!
    expect(group.rules[0]).toEqual({ kind: 'rule', field: 'event.properties.total', op: 'gt', value: 0 })
    expect(formatCondition(group)).toEqual({ '>': [{ var: 'event.properties.total' }, 0] })
  })

  it('treats no condition as an empty group, and an empty group as no condition', () => {
    expect(parseCondition(null)).toEqual({ kind: 'group', combinator: 'and', not: false, rules: [] })
    expect(parseCondition(undefined)!.rules).toEqual([])
    expect(formatCondition({ kind: 'group', combinator: 'or', not: false, rules: [] })).toBeNull()
  })

  it('refuses JsonLogic it cannot show faithfully', () => {
    const unsupported = [
      { '+': [1, 2] },
      { '==': [{ var: ['contact.age', 0] }, 3] },
      { '==': [{ var: 'a' }, { var: 'b' }] },
      { if: [true, 1, 2] },
      { and: [{ '==': [{ var: 'a' }, 1] }, { map: [] }] },
      { '==': [{ var: 'a' }, 1], '!=': [{ var: 'b' }, 2] },
      'a string',
    ]
    for (const logic of unsupported) expect(parseCondition(logic)).toBeNull()
  })

  it('writes the model the builder edits', () => {
    const group: Group = {
      kind: 'group',
      combinator: 'and',
      not: false,
      rules: [
        { kind: 'rule', field: 'contact.attributes.country', op: 'oneOf', value: ['IT', 'FR'] },
        { kind: 'rule', field: 'event.properties.total', op: 'between', value: [10, 100] },
      ],
    }
    expect(formatCondition(group)).toEqual({
      and: [
        { in: [{ var: 'contact.attributes.country' }, ['IT', 'FR']] },
        { '<=': [10, { var: 'event.properties.total' }, 100] },
      ],
    })
  })

  it('types values as people mean them', () => {
    expect(valueFromText('42')).toBe(42)
    expect(valueFromText('-1.5')).toBe(-1.5)
    expect(valueFromText('007')).toBe('007')
    expect(valueFromText('IT')).toBe('IT')
    expect(valueFromText('true')).toBe(true)
    expect(valueFromText('1e3')).toBe('1e3')
  })

  it('says a condition in plain words', () => {
    expect(describeCondition({ '==': [{ var: 'contact.attributes.country' }, 'IT'] })).toBe('Country is "IT"')
    expect(describeCondition({ '>': [{ var: 'event.properties.cart_total' }, 0] })).toBe('Event: cart total is more than 0')
    expect(
      describeCondition({ or: [{ '!!': [{ var: 'contact.phone' }] }, { in: [{ var: 'contact.attributes.country' }, ['IT', 'FR']] }] }),
    ).toBe('Phone number has a value or Country is one of "IT", "FR"')
    expect(describeCondition({ '+': [1, 2] })).toBe('a custom condition')
  })
})

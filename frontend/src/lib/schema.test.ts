import { describe, expect, it } from 'vitest'
import catalogue from '../test/node-types.json'
import type { NodeType } from '../api/types'
import { portsFor } from './nodes'
import { resolve, widgetFor } from './schema'

const kinds = Object.fromEntries((catalogue.items as unknown as NodeType[]).map((k) => [k.type, k]))

function widget(type: string, field: string) {
  const root = kinds[type].schema
  const object = resolve(root, root)
  return widgetFor(field, object.properties![field], root).kind
}

describe('widgets chosen from the catalogue schemas', () => {
  it('uses marketer widgets where the schema shows what a field is', () => {
    expect(widget('wait', 'for')).toBe('duration')
    expect(widget('wait', 'timeout')).toBe('duration')
    expect(widget('wait', 'until')).toBe('until')
    expect(widget('wait', 'where')).toBe('condition')
    expect(widget('wait', 'event')).toBe('text')
    expect(widget('trigger', 'where')).toBe('condition')
    expect(widget('trigger', 'rule')).toBe('condition')
    expect(widget('trigger', 'on')).toBe('enum')
    expect(widget('trigger', 'include_current')).toBe('boolean')
    expect(widget('segment_filter', 'rule')).toBe('condition')
    expect(widget('channel_choice', 'channels')).toBe('channels')
    expect(widget('send', 'channel')).toBe('enum')
    expect(widget('send', 'content')).toBe('messages')
    expect(widget('split', 'variants')).toBe('list')
    expect(widget('update_contact', 'set')).toBe('map')
    expect(widget('exit', 'reason')).toBe('text')
  })

  it('computes ports from config as the server does', () => {
    expect(portsFor(kinds.channel_choice, { channels: ['push', 'sms'] })).toEqual(['push', 'sms', 'none'])
    expect(portsFor(kinds.split, { variants: [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }] })).toEqual(['a', 'b'])
    expect(portsFor(kinds.wait, { for: 'P1D' })).toEqual(['next'])
    expect(portsFor(kinds.wait, { event: 'purchased', timeout: 'P1D' })).toEqual(['event', 'timeout'])
    expect(portsFor(kinds.segment_filter, {})).toEqual(['yes', 'no'])
    expect(portsFor(kinds.exit, {})).toEqual([])
  })
})

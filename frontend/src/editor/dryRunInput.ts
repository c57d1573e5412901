// Turning what people type in the dry-run panel into the simulation request.
import { valueFromText } from '../lib/condition'
import type { DryRunState } from './store'

/** "cart_total: 89.9, item_count: 3" (or a JSON object) -> {cart_total: 89.9, item_count: 3}. */
export function parseDetails(text: string): { value: Record<string, unknown>; error?: string } {
  const trimmed = text.trim()
  if (!trimmed) return { value: {} }
  if (trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed)
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return { value: parsed as Record<string, unknown> }
      return { value: {}, error: 'Details must be pairs like "total: 42".' }
    } catch {
      return { value: {}, error: 'The details are not valid JSON.' }
    }
  }
  const value: Record<string, unknown> = {}
  for (const part of trimmed.split(/,(?=\s*[A-Za-z_][\w]*\s*[:=])/)) {
    const match = /^\s*([A-Za-z_][\w]*)\s*[:=]\s*(.*?)\s*$/.exec(part)
    if (!match) return { value, error: `"${part.trim()}" is not a pair like "total: 42".` }
    value[match[1]] = valueFromText(match[2])
  }
  return { value }
}

/** datetime-local text (read as UTC) -> "2026-03-02T10:00:00Z". */
export function localToIso(text: string): string {
  if (!text) return ''
  const withSeconds = text.length === 16 ? `${text}:00` : text
  return `${withSeconds}Z`
}

/** "2026-03-02T10:00:00Z" -> datetime-local text in UTC. */
export function isoToLocal(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return ''
  return date.toISOString().slice(0, 16)
}

export interface ParsedLines {
  items: unknown[]
  errors: string[]
}

/** One JSON object per line; blank lines are skipped. */
export function parseJsonLines(text: string): ParsedLines {
  const items: unknown[] = []
  const errors: string[] = []
  text.split('\n').forEach((line, index) => {
    if (!line.trim()) return
    try {
      const item: unknown = JSON.parse(line)
      if (!item || typeof item !== 'object' || Array.isArray(item)) errors.push(`Line ${index + 1} is not a JSON object.`)
      else items.push(item)
    } catch {
      errors.push(`Line ${index + 1} is not valid JSON.`)
    }
  })
  return { items, errors }
}

export interface BuiltRequest {
  body: {
    contacts?: unknown[]
    contact_ids?: string[]
    events: unknown[]
    start?: string
    horizon: string
  }
  errors: string[]
}

export function buildRequest(state: DryRunState): BuiltRequest {
  const errors: string[] = []
  const body: BuiltRequest['body'] = { events: [], horizon: state.horizon || 'P30D' }
  if (state.source === 'pasted') {
    const parsed = parseJsonLines(state.pasted)
    errors.push(...parsed.errors.map((e) => `Contacts: ${e}`))
    if (!parsed.items.length && !parsed.errors.length) errors.push('Paste at least one contact, one JSON object per line.')
    body.contacts = parsed.items
  } else {
    const ids = state.contactIds.split(/[\s,]+/).filter(Boolean)
    if (ids.length) body.contact_ids = ids
  }
  state.events.forEach((event, index) => {
    const where = `Event ${index + 1}`
    if (!event.contact.trim()) errors.push(`${where}: say which contact.`)
    if (!event.name.trim()) errors.push(`${where}: say what happened (the event name).`)
    const details = parseDetails(event.details)
    if (details.error) errors.push(`${where}: ${details.error}`)
    const item: Record<string, unknown> = { contact: event.contact.trim(), name: event.name.trim() }
    if (event.at) item.at = localToIso(event.at)
    if (Object.keys(details.value).length) item.properties = details.value
    body.events.push(item)
  })
  if (state.start) body.start = localToIso(state.start)
  return { body, errors }
}

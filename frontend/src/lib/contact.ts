// A contact in words: its name, a few attributes, its consent per channel.
import type { Contact } from '../api/types'
import { CHANNELS } from './channels'

/** "Anna Rossi" from the usual name attributes, or null when the contact has none. */
export function contactName(contact: Contact): string | null {
  const attributes = contact.attributes ?? {}
  const text = (key: string) => (typeof attributes[key] === 'string' ? (attributes[key] as string).trim() : '')
  const full = [text('first_name'), text('last_name')].filter(Boolean).join(' ')
  return full || text('name') || null
}

const NAME_KEYS = new Set(['first_name', 'last_name', 'name'])

export function valueText(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}

/** "country: IT · lifecycle: active": the first `limit` attributes besides the name. */
export function attributeSummary(attributes: Record<string, unknown> | undefined, limit: number): string {
  const entries = Object.entries(attributes ?? {}).filter(([key]) => !NAME_KEYS.has(key))
  const shown = entries.slice(0, limit).map(([key, value]) => `${key.replace(/_/g, ' ')}: ${valueText(value)}`)
  if (entries.length > limit) shown.push(`+${entries.length - limit} more`)
  return shown.join(' · ')
}

export interface ConsentLine {
  channel: string
  state: 'opted_in' | 'opted_out' | 'unset'
  since: string | null
}

/**
 * Consent for every channel (a channel with no entry may be used, so it is listed as "not
 * asked"), with when it last changed when the API says so.
 */
export function consentLines(contact: Contact & { consent_changed?: Record<string, string> }): ConsentLine[] {
  const consent = contact.consent ?? {}
  const changed = contact.consent_changed ?? {}
  const channels = [...CHANNELS, ...Object.keys(consent).filter((c) => !(CHANNELS as readonly string[]).includes(c))]
  return channels.map((channel) => {
    const value = consent[channel]
    const state = value === 'opted_in' || value === 'opted_out' ? value : 'unset'
    return { channel, state, since: changed[channel] ?? null }
  })
}

export const CONSENT_WORDS: Record<ConsentLine['state'], string> = {
  opted_in: 'Opted in',
  opted_out: 'Opted out',
  unset: 'Not asked (may be used)',
}

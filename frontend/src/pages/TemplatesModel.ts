// The Templates pages' logic, kept apart from the components so tests can check it directly:
// the fields of each channel, the requests to /api/templates, and what the preview shows.
import { request } from '../api/client'
import type { Page } from '../api/types'
import { describeSmsLength, smsLength } from '../lib/smsSegments'

export const CHANNELS = ['email', 'sms', 'push', 'voice', 'chat'] as const
export type Channel = (typeof CHANNELS)[number]

export interface FieldSpec {
  name: string
  label: string
  required: boolean
  long: boolean
}

// As nodes/send.py and backend/api/templates.py define a message per channel.
export const FIELDS: Record<Channel, FieldSpec[]> = {
  email: [
    { name: 'subject', label: 'Subject', required: true, long: false },
    { name: 'text', label: 'Text version', required: true, long: true },
    { name: 'html', label: 'HTML version (optional; CSS in <style> is inlined when sent)', required: false, long: true },
  ],
  sms: [{ name: 'text', label: 'Message', required: true, long: true }],
  push: [
    { name: 'title', label: 'Title', required: true, long: false },
    { name: 'body', label: 'Message', required: true, long: true },
    { name: 'url', label: 'Link to open (optional)', required: false, long: false },
  ],
  voice: [{ name: 'text', label: 'What the voice says', required: true, long: true }],
  chat: [{ name: 'text', label: 'Message', required: true, long: true }],
}

export type Content = Record<string, string>

export interface TemplateSummary {
  key: string
  name: string
  channel: Channel
  version: number
  content: Content
  created_at: string
  updated_at: string
}

export interface TemplateVersion {
  number: number
  content: Content
  created_at: string
}

export interface TemplateDetail extends TemplateSummary {
  versions: TemplateVersion[]
}

export interface SmsInfo {
  encoding: 'GSM-7' | 'UCS-2'
  characters: number
  units: number
  segments: number
  per_segment: number
  ucs2_because: string | null
}

export interface PreviewResult {
  channel: Channel
  content: Content
  version?: number | null
  sms?: SmsInfo
}

export function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value)
}

export function emptyContent(channel: Channel): Content {
  const content: Content = {}
  for (const field of FIELDS[channel]) if (field.required) content[field.name] = ''
  return content
}

/** The content to send: the channel's fields only, optional ones left out when empty. */
export function cleanContent(channel: Channel, content: Content): Content {
  const out: Content = {}
  for (const field of FIELDS[channel]) {
    const value = content[field.name] ?? ''
    if (field.required || value !== '') out[field.name] = value
  }
  return out
}

export function sameContent(a: Content, b: Content): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  for (const key of keys) if ((a[key] ?? '') !== (b[key] ?? '')) return false
  return true
}

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

/** What is wrong with a new template's key, or null. The server checks the same. */
export function keyProblem(key: string): string | null {
  if (!key) return 'Give the template a key: send nodes name it by this key, e.g. welcome_sms.'
  if (key.length > 100) return 'The key is too long (at most 100 characters).'
  if (!KEY_RE.test(key)) return "The key may hold only letters, digits, '_', '.' and '-', and starts with a letter or digit."
  return null
}

/** A key suggested from a name: "Welcome SMS" -> "welcome_sms". */
export function keyFromName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 100)
}

export interface PreviewInput {
  key: string | null // null: a template not saved yet
  channel: Channel
  content: Content
  contact: string
  eventJson: string
}

/** The preview request, or the reason it cannot be made yet. */
export function previewRequest(input: PreviewInput): { path: string; body: Record<string, unknown> } | { problem: string } {
  const contact = input.contact.trim()
  if (!contact) return { problem: 'Enter a contact id to preview the message for that contact.' }
  const body: Record<string, unknown> = { contact, content: cleanContent(input.channel, input.content) }
  if (input.eventJson.trim()) {
    let event: unknown
    try {
      event = JSON.parse(input.eventJson)
    } catch {
      return { problem: 'The sample event is not valid JSON.' }
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      return { problem: 'The sample event must be a JSON object, e.g. {"properties": {"order_id": "A-17"}}.' }
    }
    body.event = event
  }
  if (input.key === null) return { path: '/api/templates/preview', body: { ...body, channel: input.channel } }
  return { path: `/api/templates/${encodeURIComponent(input.key)}/preview`, body }
}

/** "N characters · M segments · GSM-7" for an SMS as rendered; the server's count when given. */
export function smsSummary(result: PreviewResult): string | null {
  if (result.channel !== 'sms') return null
  const counted = result.sms
    ? {
        encoding: result.sms.encoding,
        characters: result.sms.characters,
        units: result.sms.units,
        segments: result.sms.segments,
        perSegment: result.sms.per_segment,
        ucs2Because: result.sms.ucs2_because,
      }
    : smsLength(result.content.text ?? '')
  return describeSmsLength(counted)
}

export const templatesApi = {
  list: (cursor?: string | null) =>
    request<Page<TemplateSummary>>('GET', `/api/templates?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
  get: (key: string) => request<TemplateDetail>('GET', `/api/templates/${encodeURIComponent(key)}`),
  create: (body: { key: string; name: string; channel: Channel; content: Content }) =>
    request<TemplateDetail>('POST', '/api/templates', body),
  save: (key: string, body: { name?: string; content?: Content }) =>
    request<TemplateDetail>('PUT', `/api/templates/${encodeURIComponent(key)}`, body),
  preview: (ask: { path: string; body: Record<string, unknown> }) => request<PreviewResult>('POST', ask.path, ask.body),
}

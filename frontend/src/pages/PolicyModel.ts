// Delivery rules (Settings -> Delivery rules) as a form, and back: pure helpers, no I/O.
// The form keeps what people type (text), the API shape keeps numbers; the server stays the judge
// (docs/policy.md), the checks here only catch the obvious mistakes before a round trip.
import type { DeliveryPolicy } from '../api/types'
import { CHANNELS, channelName } from '../lib/channels'

export interface CapForm {
  day: string
  week: string
}

export interface QuietForm {
  on: boolean
  start: string
  end: string
  timezone: string
}

export interface PolicyForm {
  caps: Record<string, CapForm>
  topics: string[]
  quiet: QuietForm
}

/** One thing wrong in the form: `field` is the id of the input it is about. */
export interface FieldProblem {
  field: string
  message: string
}

/** The quiet hours a form starts from when they are switched on (a window across midnight). */
export const DEFAULT_QUIET: QuietForm = { on: false, start: '21:00', end: '08:00', timezone: '' }

export function emptyForm(): PolicyForm {
  const caps: Record<string, CapForm> = {}
  for (const channel of CHANNELS) caps[channel] = { day: '', week: '' }
  return { caps, topics: [], quiet: { ...DEFAULT_QUIET } }
}

/** "9:05" -> "09:05": the form of `<input type="time">`. Anything else is kept as it is. */
export function paddedTime(text: string): string {
  const match = /^\s*(\d{1,2}):(\d{2})\s*$/.exec(text)
  return match ? `${match[1].padStart(2, '0')}:${match[2]}` : text
}

export function formFromPolicy(policy: DeliveryPolicy): PolicyForm {
  const form = emptyForm()
  for (const [channel, cap] of Object.entries(policy.caps ?? {})) {
    // A channel this app does not list yet is kept, so saving does not drop it.
    form.caps[channel] = {
      day: cap?.day === undefined || cap.day === null ? '' : String(cap.day),
      week: cap?.week === undefined || cap.week === null ? '' : String(cap.week),
    }
  }
  form.topics = [...(policy.transactional_topics ?? [])]
  const quiet = policy.quiet_hours
  if (quiet) {
    form.quiet = {
      on: true,
      start: paddedTime(quiet.start),
      end: paddedTime(quiet.end),
      timezone: quiet.timezone ?? '',
    }
  }
  return form
}

/** The whole policy to PUT. Assumes `formProblems(form)` is empty (numbers are whole). */
export function policyFromForm(form: PolicyForm): DeliveryPolicy {
  const caps: DeliveryPolicy['caps'] = {}
  for (const [channel, cap] of Object.entries(form.caps)) {
    const day = cap.day.trim()
    const week = cap.week.trim()
    if (!day && !week) continue // empty: no cap on this channel
    caps[channel] = {
      ...(day ? { day: Number(day) } : {}),
      ...(week ? { week: Number(week) } : {}),
    }
  }
  const quiet = form.quiet
  return {
    caps,
    transactional_topics: cleanTopics(form.topics),
    quiet_hours: quiet.on
      ? {
          start: quiet.start.trim(),
          end: quiet.end.trim(),
          ...(quiet.timezone.trim() ? { timezone: quiet.timezone.trim() } : {}),
        }
      : null,
  }
}

/** Topics trimmed, without empty ones and repeats, in the order given. */
export function cleanTopics(topics: readonly string[]): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const topic of topics) {
    const text = topic.trim()
    if (text && !seen.has(text)) {
      seen.add(text)
      out.push(text)
    }
  }
  return out
}

export function capFieldId(channel: string, period: 'day' | 'week'): string {
  return `cap-${channel}-${period}`
}

const PERIOD_WORDS = { day: 'per day', week: 'per week' } as const
const WHOLE = /^\d+$/
const TIME = /^([01]?\d|2[0-3]):[0-5]\d$/

/** The label of a cap input, also the start of its problems: "Email per day". */
export function capLabel(channel: string, period: 'day' | 'week'): string {
  return `${channelName(channel)} ${PERIOD_WORDS[period]}`
}

function capProblem(channel: string, period: 'day' | 'week', text: string): FieldProblem | null {
  const value = text.trim()
  if (!value) return null
  if (!WHOLE.test(value) || Number(value) < 1) {
    return {
      field: capFieldId(channel, period),
      message: `${capLabel(channel, period)}: "${value}" is not a number of messages; write a whole number from 1 up, or leave it empty for no cap.`,
    }
  }
  return null
}

/** Everything obviously wrong in the form, in the order of the page, each naming its field. */
export function formProblems(form: PolicyForm): FieldProblem[] {
  const problems: FieldProblem[] = []
  for (const [channel, cap] of Object.entries(form.caps)) {
    const day = capProblem(channel, 'day', cap.day)
    const week = capProblem(channel, 'week', cap.week)
    if (day) problems.push(day)
    if (week) problems.push(week)
    if (!day && !week && cap.day.trim() && cap.week.trim() && Number(cap.week) < Number(cap.day)) {
      problems.push({
        field: capFieldId(channel, 'week'),
        message: `${capLabel(channel, 'week')}: ${cap.week.trim()} is lower than the daily cap (${cap.day.trim()}); a week holds every day of it, so the weekly cap must be at least ${cap.day.trim()}.`,
      })
    }
  }
  const quiet = form.quiet
  if (quiet.on) {
    const times: Array<['start' | 'end', string]> = [
      ['start', 'Quiet hours from'],
      ['end', 'Quiet hours until'],
    ]
    for (const [name, label] of times) {
      const value = quiet[name].trim()
      if (!value) problems.push({ field: `quiet-${name}`, message: `${label}: give a time of day, e.g. ${DEFAULT_QUIET[name]}.` })
      else if (!TIME.test(value))
        problems.push({ field: `quiet-${name}`, message: `${label}: "${value}" is not a time of day (24-hour clock, e.g. ${DEFAULT_QUIET[name]}).` })
    }
    if (TIME.test(quiet.start.trim()) && TIME.test(quiet.end.trim()) && paddedTime(quiet.start) === paddedTime(quiet.end)) {
      problems.push({
        field: 'quiet-end',
        message: 'Quiet hours: "from" and "until" are the same time; quiet hours need a window, e.g. 21:00 to 08:00.',
      })
    }
  }
  return problems
}

/** "Quiet hours from 21:00 until 08:00 (contacts without a time zone: Europe/Rome)". */
export function quietSummary(quiet: QuietForm): string {
  if (!quiet.on) return 'No quiet hours: messages go at any time of day.'
  const zone = quiet.timezone.trim() ? quiet.timezone.trim() : "the flow's time zone"
  const overnight = TIME.test(quiet.start.trim()) && TIME.test(quiet.end.trim()) && paddedTime(quiet.end) < paddedTime(quiet.start)
  return `Messages due between ${quiet.start || '…'} and ${quiet.end || '…'}${overnight ? ' (overnight)' : ''} wait until ${quiet.end || '…'}, in each contact's own time zone (${zone} for contacts without one).`
}

/** Whether two forms would save the same policy (to tell unsaved changes). */
export function samePolicy(a: PolicyForm, b: PolicyForm): boolean {
  return JSON.stringify(policyFromForm(a)) === JSON.stringify(policyFromForm(b))
}

// --- suppressions -------------------------------------------------------------------------------

/** Reasons the list is given by hand, offered in the "Add" form. */
export const SUPPRESSION_REASONS = ['manual', 'hard_bounce', 'complaint'] as const

const REASON_WORDS: Record<string, string> = {
  manual: 'Added by hand',
  hard_bounce: 'Hard bounce',
  complaint: 'Spam complaint',
}

/** A suppression's reason in words: "hard_bounce: 550 no such user" -> "Hard bounce (550 no such user)". */
export function suppressionReasonWords(reason: string): string {
  const [code, ...rest] = reason.split(':')
  const detail = rest.join(':').trim()
  const words = REASON_WORDS[code.trim()]
  if (!words) return reason.replace(/_/g, ' ')
  return detail ? `${words} (${detail})` : words
}

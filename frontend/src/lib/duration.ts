// ISO 8601 durations (`P1D`, `PT24H`, `P1W2DT3H`) as amounts of units people read ("2 days").
// Days and weeks are calendar steps, hours and minutes exact: the parts are kept as written,
// never converted into each other, so `PT24H` stays `PT24H` and `P1D` stays `P1D`.

export const DURATION_UNITS = [
  'minutes',
  'hours',
  'days',
  'weeks',
  'months',
  'years',
  'seconds',
] as const
export type DurationUnit = (typeof DURATION_UNITS)[number]

export interface DurationPart {
  amount: number
  unit: DurationUnit
}

// The order the parts are written in an ISO duration.
const ISO_ORDER: DurationUnit[] = ['years', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds']

const SINGULAR: Record<DurationUnit, string> = {
  seconds: 'second',
  minutes: 'minute',
  hours: 'hour',
  days: 'day',
  weeks: 'week',
  months: 'month',
  years: 'year',
}

const ISO_RE =
  /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/

/** The parts of an ISO duration, biggest first; null when the text is not one. */
export function parseDuration(text: string): DurationPart[] | null {
  const candidate = text.trim().toUpperCase()
  if (candidate === 'P' || candidate === 'PT' || candidate.endsWith('T')) return null
  const match = ISO_RE.exec(candidate)
  if (!match) return null
  const parts: DurationPart[] = []
  ISO_ORDER.forEach((unit, index) => {
    const value = match[index + 1]
    if (value !== undefined) {
      parts.push({ amount: Number(value.replace(',', '.')), unit })
    }
  })
  if (parts.length === 0) return null
  return parts
}

/** The ISO duration for these parts (zero amounts dropped); '' when nothing is left. */
export function formatDuration(parts: DurationPart[]): string {
  const totals = new Map<DurationUnit, number>()
  for (const part of parts) {
    if (!Number.isFinite(part.amount) || part.amount <= 0) continue
    totals.set(part.unit, (totals.get(part.unit) ?? 0) + part.amount)
  }
  if (totals.size === 0) return ''
  let date = ''
  let time = ''
  const letter: Record<DurationUnit, string> = {
    years: 'Y', months: 'M', weeks: 'W', days: 'D', hours: 'H', minutes: 'M', seconds: 'S',
  }
  for (const unit of ISO_ORDER) {
    const amount = totals.get(unit)
    if (amount === undefined) continue
    const whole = unit === 'seconds' ? amount : Math.round(amount)
    const text = `${whole}${letter[unit]}`
    if (unit === 'hours' || unit === 'minutes' || unit === 'seconds') time += text
    else date += text
  }
  return `P${date}${time ? `T${time}` : ''}`
}

export function unitName(unit: DurationUnit, amount: number): string {
  return amount === 1 ? SINGULAR[unit] : unit
}

/** "2 days", "1 day and 3 hours", or the text itself when it is not a duration. */
export function describeDuration(text: string | undefined | null): string {
  if (!text) return ''
  const parts = parseDuration(text)
  if (!parts) return text
  const words = parts.map((part) => `${part.amount} ${unitName(part.unit, part.amount)}`)
  if (words.length === 1) return words[0]
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`
}

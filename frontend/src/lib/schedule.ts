// Times of day and weekdays, for "wait until 09:00 on weekdays".

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
export type Weekday = (typeof WEEKDAYS)[number]

export const WEEKDAY_NAMES: Record<Weekday, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
}

export interface Until {
  time: string
  weekdays?: Weekday[]
  timezone?: string
}

/** The chosen days in week order; `undefined` (left out of the config) means every day. */
export function normaliseWeekdays(days: readonly string[] | undefined | null): Weekday[] | undefined {
  if (!days) return undefined
  const chosen = WEEKDAYS.filter((day) => days.includes(day))
  return chosen.length === WEEKDAYS.length ? undefined : chosen
}

/** Whether `day` is chosen; every day is chosen when none is listed. */
export function hasWeekday(days: readonly string[] | undefined | null, day: Weekday): boolean {
  return !days || days.includes(day)
}

/**
 * Turns one day on or off. The last chosen day cannot be turned off (a wait needs at least one
 * day); choosing all seven gives `undefined`, "every day".
 */
export function toggleWeekday(days: readonly string[] | undefined | null, day: Weekday): Weekday[] | undefined {
  const current = days ? normaliseWeekdays(days) ?? [...WEEKDAYS] : [...WEEKDAYS]
  if (current.includes(day)) {
    if (current.length === 1) return current
    return normaliseWeekdays(current.filter((entry) => entry !== day))
  }
  return normaliseWeekdays([...current, day])
}

export function isValidTime(text: string): boolean {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim())
  return !!match && Number(match[1]) <= 23 && Number(match[2]) <= 59
}

/** "every day", "on weekdays", "on Saturday and Sunday", "on Monday, Wednesday and Friday". */
export function describeWeekdays(days: readonly string[] | undefined | null): string {
  const chosen = normaliseWeekdays(days ?? undefined)
  if (!chosen) return 'every day'
  const key = chosen.join(',')
  if (key === 'mon,tue,wed,thu,fri') return 'on weekdays'
  if (key === 'sat,sun') return 'at the weekend'
  const names = chosen.map((day) => WEEKDAY_NAMES[day])
  if (names.length === 1) return `on ${names[0]}`
  return `on ${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
}

export function describeUntil(until: Partial<Until> | undefined | null): string {
  if (!until || !until.time) return 'a time of day'
  const zone = !until.timezone || until.timezone === 'contact' ? "in the contact's time zone" : `in ${until.timezone}`
  return `${until.time} ${describeWeekdays(until.weekdays)}, ${zone}`
}

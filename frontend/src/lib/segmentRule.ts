// Segment rules: the condition builder's model plus the aggregate operators of flows/segments.py
// (docs/segments.md), read from and written to JsonLogic:
//
//   has done E at least 3 times in the last 90 days where P > 50
//       {">=": [{"event_count": {"name": E, "days": 90, "where": {">": [{"var": "properties.P"}, 50]}}}, 3]}
//   has not done E in the last 21 days   {"==": [{"event_count": {"name": E, "days": 21}}, 0]}
//   last did E more than 30 days ago     {">": [{"days_since_event": {"name": E}}, 30]}
//   is in segment vip                    {"in_segment": "vip"}   (not: {"!": {"in_segment": "vip"}})
//
// Only these shapes are parsed; any other use of the operators leaves the rule to the JSON view.
import {
  describeCondition,
  emptyGroup,
  formatCondition,
  parseCondition,
  type Extension,
  type Group,
} from './condition'

export type AggregateType = 'count' | 'notDone' | 'lastDone' | 'inSegment'
export type CountOperator = 'gte' | 'gt' | 'lte' | 'lt' | 'eq' | 'ne'

export interface Aggregate {
  kind: 'aggregate'
  type: AggregateType
  /** The event's name (count, notDone, lastDone). */
  event: string
  /** count: how `value` compares with the count; lastDone: with the days since; inSegment: eq (is in) or ne (is not). */
  op: CountOperator
  /** count: the number of times; lastDone: the number of days. */
  value: number
  /** count and notDone: the window in days; null is "ever". */
  days: number | null
  /** Which events count: a condition over the event (`properties.total`, `name`, `at`). */
  where: Group
  segment: string
}

const SYMBOL: Record<CountOperator, string> = { gte: '>=', gt: '>', lte: '<=', lt: '<', eq: '==', ne: '!=' }
const FROM_SYMBOL: Record<string, CountOperator> = {
  '>=': 'gte', '>': 'gt', '<=': 'lte', '<': 'lt', '==': 'eq', '===': 'eq', '!=': 'ne', '!==': 'ne',
}
// n < x is x > n: the comparison seen from the aggregate's side when it is written second.
const FLIPPED: Record<CountOperator, CountOperator> = { gte: 'lte', gt: 'lt', lte: 'gte', lt: 'gt', eq: 'eq', ne: 'ne' }

export const COUNT_WORDS: Record<CountOperator, string> = {
  gte: 'at least', gt: 'more than', lte: 'at most', lt: 'fewer than', eq: 'exactly', ne: 'not exactly',
}
export const DAYS_AGO_WORDS: Record<CountOperator, string> = {
  gt: 'more than', gte: 'at least', lt: 'less than', lte: 'at most', eq: 'exactly', ne: 'not exactly',
}

export const AGGREGATE_TYPES: Array<{ type: AggregateType; label: string }> = [
  { type: 'count', label: 'has done' },
  { type: 'notDone', label: 'has not done' },
  { type: 'lastDone', label: 'last did' },
  { type: 'inSegment', label: 'is in segment' },
]

export function newAggregate(type: AggregateType, from?: Aggregate): Aggregate {
  const base: Aggregate = {
    kind: 'aggregate',
    type,
    event: from?.event ?? '',
    op: type === 'lastDone' ? 'gt' : type === 'inSegment' ? 'eq' : 'gte',
    value: type === 'lastDone' ? 30 : 1,
    days: type === 'count' || type === 'notDone' ? (from?.days ?? 30) : null,
    where: from?.where ?? emptyGroup(),
    segment: from?.segment ?? '',
  }
  if (type === 'inSegment') return { ...base, event: '', days: null, where: emptyGroup() }
  if (type === 'lastDone') return { ...base, days: null }
  return base
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function only(value: unknown): [string, unknown] | null {
  if (!isObject(value)) return null
  const keys = Object.keys(value)
  return keys.length === 1 ? [keys[0], value[keys[0]]] : null
}

function isWhole(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
}

interface EventArgs {
  event: string
  days: number | null
  where: Group
}

/** `{"name", "days"?, "where"?}` when the builder can show it, else null. */
function eventArgs(args: unknown, withDays: boolean): EventArgs | null {
  if (!isObject(args) || typeof args.name !== 'string') return null
  const allowed = withDays ? ['name', 'days', 'where'] : ['name', 'where']
  if (Object.keys(args).some((key) => !allowed.includes(key))) return null
  let days: number | null = null
  if ('days' in args) {
    if (!isWhole(args.days) || args.days < 1) return null
    days = args.days
  }
  let where = emptyGroup()
  if ('where' in args) {
    const parsed = parseCondition(args.where)
    // The editor shows a `where` as conditions that must all hold; anything else (and a null
    // `where`, which would be written back as none) stays in the JSON view.
    if (!parsed || args.where === null || !isFlat(parsed)) return null
    where = parsed
  }
  return { event: args.name, days, where }
}

function isFlat(group: Group): boolean {
  return group.combinator === 'and' && !group.not && group.rules.every((item) => item.kind === 'rule')
}

function segmentKey(args: unknown): string | null {
  const key = Array.isArray(args) && args.length === 1 ? args[0] : args
  return typeof key === 'string' ? key : null
}

/** The builder's item for an aggregate condition, or null when it is not one the builder shows. */
export function parseAggregate(logic: unknown): Aggregate | null {
  const entry = only(logic)
  if (!entry) return null
  const [operator, raw] = entry
  if (operator === 'in_segment') {
    const key = segmentKey(raw)
    return key === null ? null : { ...newAggregate('inSegment'), segment: key }
  }
  if (operator === '!') {
    const inner = Array.isArray(raw) && raw.length === 1 ? raw[0] : raw
    const found = only(inner)
    const key = found && found[0] === 'in_segment' ? segmentKey(found[1]) : null
    return key === null ? null : { ...newAggregate('inSegment'), op: 'ne', segment: key }
  }
  const symbol = FROM_SYMBOL[operator]
  if (!symbol || !Array.isArray(raw) || raw.length !== 2) return null
  let [left, right] = raw
  let op = symbol
  if (isWhole(left) && !isWhole(right)) {
    ;[left, right] = [right, left]
    op = FLIPPED[op]
  }
  if (!isWhole(right)) return null
  const aggregate = only(left)
  if (!aggregate) return null
  const [name, args] = aggregate
  if (name === 'event_count') {
    const parsed = eventArgs(args, true)
    if (!parsed) return null
    // "== 0" is "has not done" only when written as such (not flipped), so it reads back equal.
    if (right === 0 && operator === '==' && raw[0] === left) {
      return { ...newAggregate('notDone'), ...parsed }
    }
    return { ...newAggregate('count'), ...parsed, op, value: right }
  }
  if (name === 'days_since_event') {
    const parsed = eventArgs(args, false)
    return parsed ? { ...newAggregate('lastDone'), ...parsed, op, value: right } : null
  }
  return null
}

function eventObject(item: Aggregate, withDays: boolean): Record<string, unknown> {
  const args: Record<string, unknown> = { name: item.event }
  if (withDays && item.days !== null) args.days = item.days
  const where = formatCondition(item.where)
  if (where !== null) args.where = where
  return args
}

/** JsonLogic for an aggregate item. */
export function formatAggregate(item: Aggregate): unknown {
  switch (item.type) {
    case 'inSegment':
      return item.op === 'ne' ? { '!': { in_segment: item.segment } } : { in_segment: item.segment }
    case 'notDone':
      return { '==': [{ event_count: eventObject(item, true) }, 0] }
    case 'lastDone':
      return { [SYMBOL[item.op]]: [{ days_since_event: eventObject(item, false) }, item.value] }
    default:
      return { [SYMBOL[item.op]]: [{ event_count: eventObject(item, true) }, item.value] }
  }
}

function times(n: number): string {
  return n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`
}

function window(days: number | null): string {
  if (days === null) return 'ever'
  return days === 1 ? 'in the last day' : `in the last ${days} days`
}

/** An aggregate in plain words: 'has done "purchased" at least 3 times in the last 90 days'. */
export function describeAggregate(item: Aggregate): string {
  const event = `"${item.event || '…'}"`
  const whereLogic = formatCondition(item.where)
  const where = whereLogic === null ? '' : ` where ${describeCondition(whereLogic)}`
  switch (item.type) {
    case 'inSegment':
      return `${item.op === 'ne' ? 'is not' : 'is'} in segment "${item.segment || '…'}"`
    case 'notDone':
      return item.days === null ? `has never done ${event}${where}` : `has not done ${event}${where} ${window(item.days)}`
    case 'lastDone':
      return `last did ${event}${where} ${DAYS_AGO_WORDS[item.op]} ${item.value} day${item.value === 1 ? '' : 's'} ago`
    default: {
      const span = item.days === null ? '' : ` ${window(item.days)}`
      return `has done ${event} ${COUNT_WORDS[item.op]} ${times(item.value)}${span}${where}`
    }
  }
}

/** The extension the condition builder takes to read, write and describe segment rules. */
export const SEGMENT_LOGIC: Extension = {
  parse: parseAggregate,
  format: formatAggregate,
  describe: describeAggregate,
}

export function parseSegmentRule(logic: unknown): Group | null {
  return parseCondition(logic, SEGMENT_LOGIC)
}

export function formatSegmentRule(group: Group): unknown {
  return formatCondition(group, SEGMENT_LOGIC)
}

/** The fields a segment rule reads about the contact (events are reached by aggregates). */
export const CONTACT_FIELDS = [
  'contact.attributes.country',
  'contact.attributes.first_name',
  'contact.attributes.lifecycle',
  'contact.email',
  'contact.phone',
  'contact.timezone',
  'contact.consent.email',
  'contact.consent.sms',
  'contact.consent.push',
  'contact.preferences.newsletter',
]

/** The fields of an event a `where` reads. */
export const EVENT_FIELDS = ['properties.total', 'properties.campaign', 'name', 'at']

// The visual condition builder's model, and its translation to and from JsonLogic.
//
// A condition is a group of rules ("all of" / "any of", possibly negated) whose rules compare a
// field (`contact.attributes.country`) with a value. Only JsonLogic that the builder can show
// faithfully is parsed; anything else makes `parseCondition` return null, and the editor then
// offers the JSON as text, so no hand-written rule is ever silently rewritten.
//
// Segment rules add items of their own (event aggregates, segment membership): an `Extension`
// (lib/segmentRule.ts) parses, writes and describes them; without one, as on the canvas, such
// JsonLogic is not parsed and goes to the text view like any other the builder cannot show.

import type { Aggregate } from './segmentRule'

export type Operator =
  | 'eq'
  | 'ne'
  | 'gt'
  | 'gte'
  | 'lt'
  | 'lte'
  | 'between'
  | 'contains'
  | 'notContains'
  | 'oneOf'
  | 'notOneOf'
  | 'set'
  | 'notSet'

export type Scalar = string | number | boolean | null

export interface Rule {
  kind: 'rule'
  field: string
  op: Operator
  value: Scalar | Scalar[]
}

export type Item = Rule | Group | Aggregate

export interface Group {
  kind: 'group'
  combinator: 'and' | 'or'
  not: boolean
  rules: Item[]
}

/** The items a rule language adds to the builder's: how to read, write and say them. */
export interface Extension {
  parse: (logic: unknown) => Aggregate | null
  format: (item: Aggregate) => unknown
  describe: (item: Aggregate) => string
}

export const OPERATORS: Array<{ op: Operator; label: string; arity: 0 | 1 | 2 | 'list' }> = [
  { op: 'eq', label: 'is', arity: 1 },
  { op: 'ne', label: 'is not', arity: 1 },
  { op: 'gt', label: 'is more than', arity: 1 },
  { op: 'gte', label: 'is at least', arity: 1 },
  { op: 'lt', label: 'is less than', arity: 1 },
  { op: 'lte', label: 'is at most', arity: 1 },
  { op: 'between', label: 'is between', arity: 2 },
  { op: 'contains', label: 'contains', arity: 1 },
  { op: 'notContains', label: 'does not contain', arity: 1 },
  { op: 'oneOf', label: 'is one of', arity: 'list' },
  { op: 'notOneOf', label: 'is not one of', arity: 'list' },
  { op: 'set', label: 'has a value', arity: 0 },
  { op: 'notSet', label: 'is empty', arity: 0 },
]

export function operatorInfo(op: Operator) {
  return OPERATORS.find((item) => item.op === op) ?? OPERATORS[0]
}

const COMPARE: Record<string, Operator> = {
  '==': 'eq',
  '===': 'eq',
  '!=': 'ne',
  '!==': 'ne',
  '>': 'gt',
  '>=': 'gte',
  '<': 'lt',
  '<=': 'lte',
}
// a < x  is  x > a: the operator seen from the field's side when the field is written second.
const FLIPPED: Partial<Record<Operator, Operator>> = { gt: 'lt', gte: 'lte', lt: 'gt', lte: 'gte' }
const SYMBOL: Partial<Record<Operator, string>> = {
  eq: '==', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=',
}

export function emptyGroup(): Group {
  return { kind: 'group', combinator: 'and', not: false, rules: [] }
}

export function newRule(field = 'contact.attributes.country'): Rule {
  return { kind: 'rule', field, op: 'eq', value: '' }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isScalar(value: unknown): value is Scalar {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value)
}

/** The field a `{"var": "a.b"}` names (no default value allowed), else null. */
function varName(value: unknown): string | null {
  if (!isObject(value) || Object.keys(value).length !== 1 || !('var' in value)) return null
  const name = value.var
  if (typeof name === 'string' && name) return name
  if (Array.isArray(name) && name.length === 1 && typeof name[0] === 'string' && name[0]) {
    return name[0]
  }
  return null
}

function single(logic: Record<string, unknown>): [string, unknown] | null {
  const keys = Object.keys(logic)
  return keys.length === 1 ? [keys[0], logic[keys[0]]] : null
}

function args(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value]
}

function parseRule(logic: unknown): Rule | null {
  if (!isObject(logic)) return null
  const entry = single(logic)
  if (!entry) return null
  const [operator, raw] = entry
  const operands = args(raw)
  if (operator in COMPARE) {
    const op = COMPARE[operator]
    if (operands.length === 3 && (operator === '<=' || operator === '<')) {
      // {"<=": [low, {"var": x}, high]}: between, inclusive only
      const field = varName(operands[1])
      if (operator === '<=' && field && isScalar(operands[0]) && isScalar(operands[2])) {
        return { kind: 'rule', field, op: 'between', value: [operands[0], operands[2]] }
      }
      return null
    }
    if (operands.length !== 2) return null
    const [left, right] = operands
    const leftField = varName(left)
    if (leftField && isScalar(right)) return { kind: 'rule', field: leftField, op, value: right }
    const rightField = varName(right)
    if (rightField && isScalar(left)) {
      return { kind: 'rule', field: rightField, op: FLIPPED[op] ?? op, value: left }
    }
    return null
  }
  if (operator === 'in' && operands.length === 2) {
    const [needle, haystack] = operands
    const field = varName(haystack)
    if (field && typeof needle === 'string') {
      return { kind: 'rule', field, op: 'contains', value: needle }
    }
    const listField = varName(needle)
    if (listField && Array.isArray(haystack) && haystack.every(isScalar)) {
      return { kind: 'rule', field: listField, op: 'oneOf', value: haystack as Scalar[] }
    }
    return null
  }
  if (operator === '!!' && operands.length === 1) {
    const field = varName(operands[0])
    return field ? { kind: 'rule', field, op: 'set', value: null } : null
  }
  if (operator === '!' && operands.length === 1) {
    const inner = operands[0]
    const field = varName(inner)
    if (field) return { kind: 'rule', field, op: 'notSet', value: null }
    const rule = parseRule(inner)
    if (rule?.op === 'contains') return { ...rule, op: 'notContains' }
    if (rule?.op === 'oneOf') return { ...rule, op: 'notOneOf' }
    return null
  }
  return null
}

function parseNode(logic: unknown, extension?: Extension): Item | null {
  if (!isObject(logic)) return null
  const entry = single(logic)
  if (!entry) return null
  const extra = extension?.parse(logic)
  if (extra) return extra
  const [operator, raw] = entry
  if ((operator === 'and' || operator === 'or') && Array.isArray(raw)) {
    const rules: Item[] = []
    for (const item of raw) {
      const parsed = parseNode(item, extension)
      if (!parsed) return null
      rules.push(parsed)
    }
    return { kind: 'group', combinator: operator, not: false, rules }
  }
  if (operator === '!') {
    const inner = args(raw)
    if (inner.length === 1 && isObject(inner[0])) {
      const innerEntry = single(inner[0])
      if (innerEntry && (innerEntry[0] === 'and' || innerEntry[0] === 'or')) {
        const group = parseNode(inner[0], extension)
        return group && group.kind === 'group' ? { ...group, not: true } : null
      }
    }
  }
  return parseRule(logic)
}

/**
 * The builder's model for a JsonLogic rule: always a group at the top. `null` / undefined give
 * an empty group; JsonLogic the builder cannot show faithfully gives null.
 */
export function parseCondition(logic: unknown, extension?: Extension): Group | null {
  if (logic === null || logic === undefined) return emptyGroup()
  const parsed = parseNode(logic, extension)
  if (!parsed) return null
  if (parsed.kind === 'group') return parsed
  return { kind: 'group', combinator: 'and', not: false, rules: [parsed] }
}

function formatRule(rule: Rule): unknown {
  const field = { var: rule.field }
  const value = rule.value
  switch (rule.op) {
    case 'set':
      return { '!!': [field] }
    case 'notSet':
      return { '!': [field] }
    case 'contains':
      return { in: [String(value ?? ''), field] }
    case 'notContains':
      return { '!': { in: [String(value ?? ''), field] } }
    case 'oneOf':
      return { in: [field, Array.isArray(value) ? value : [value]] }
    case 'notOneOf':
      return { '!': { in: [field, Array.isArray(value) ? value : [value]] } }
    case 'between': {
      const [low, high] = Array.isArray(value) ? value : [value, value]
      return { '<=': [low ?? null, field, high ?? null] }
    }
    default:
      return { [SYMBOL[rule.op] ?? '==']: [field, Array.isArray(value) ? value[0] : value] }
  }
}

function formatNode(node: Item, extension?: Extension): unknown {
  if (node.kind === 'rule') return formatRule(node)
  if (node.kind === 'aggregate') return extension ? extension.format(node) : null
  const inner = { [node.combinator]: node.rules.map((item) => formatNode(item, extension)) }
  return node.not ? { '!': inner } : inner
}

/**
 * JsonLogic for the builder's model. An empty group is no condition (null); a top-level group of
 * one rule is written as the rule alone, as people write it by hand.
 */
export function formatCondition(group: Group, extension?: Extension): unknown {
  if (group.rules.length === 0) return null
  if (group.rules.length === 1 && !group.not && group.rules[0].kind !== 'group') {
    return formatNode(group.rules[0], extension)
  }
  return formatNode(group, extension)
}

/** A value typed into a box: numbers become numbers (not "007" or "1e3"), the rest stays text. */
export function valueFromText(text: string): Scalar {
  const trimmed = text.trim()
  if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(trimmed)) return Number(trimmed)
  if (trimmed === 'true') return true
  if (trimmed === 'false') return false
  return text
}

export function valueToText(value: Scalar | undefined): string {
  if (value === null || value === undefined) return ''
  return String(value)
}

/** "contact.attributes.first_name" -> "first name"; the words a field picker shows. */
export function fieldLabel(path: string): string {
  const known: Record<string, string> = {
    'contact.id': 'Contact id',
    'contact.email': 'Email address',
    'contact.phone': 'Phone number',
    'contact.timezone': 'Time zone',
    'event.name': 'Event name',
    'event.at': 'Event time',
  }
  if (known[path]) return known[path]
  const prefixes: Array<[string, string]> = [
    ['contact.attributes.', ''],
    ['contact.consent.', 'Consent for '],
    ['contact.preferences.', 'Preferred channel for '],
    ['event.properties.', 'Event: '],
    ['vars.', 'Flow variable '],
    ['properties.', 'Property '], // an event's, in a segment rule's event condition
  ]
  for (const [prefix, words] of prefixes) {
    if (path.startsWith(prefix)) {
      const rest = path.slice(prefix.length).replace(/[_.]/g, ' ')
      return `${words}${rest}`.replace(/^./, (c) => c.toUpperCase())
    }
  }
  return path
}

function quote(value: Scalar): string {
  return typeof value === 'string' ? `"${value}"` : String(value)
}

/** The condition in plain words: 'Country is "IT" and Cart total is more than 0'. */
export function describeCondition(logic: unknown, extension?: Extension): string {
  if (logic === null || logic === undefined) return ''
  const group = parseCondition(logic, extension)
  if (!group) return 'a custom condition'
  return describeGroup(group, true, extension)
}

function describeItem(item: Item, extension?: Extension): string {
  if (item.kind === 'rule') return describeRule(item)
  if (item.kind === 'aggregate') return extension ? extension.describe(item) : 'a custom condition'
  return describeGroup(item, false, extension)
}

function describeGroup(group: Group, top: boolean, extension?: Extension): string {
  const joiner = group.combinator === 'and' ? ' and ' : ' or '
  const text = group.rules
    .map((item) => describeItem(item, extension))
    .join(joiner)
  const wrapped = top || group.rules.length < 2 ? text : `(${text})`
  return group.not ? `not (${text})` : wrapped
}

function describeRule(rule: Rule): string {
  const info = operatorInfo(rule.op)
  const field = fieldLabel(rule.field)
  if (info.arity === 0) return `${field} ${info.label}`
  if (info.arity === 2 && Array.isArray(rule.value)) {
    return `${field} ${info.label} ${quote(rule.value[0])} and ${quote(rule.value[1])}`
  }
  if (Array.isArray(rule.value)) return `${field} ${info.label} ${rule.value.map(quote).join(', ')}`
  return `${field} ${info.label} ${quote(rule.value)}`
}

// A preview renderer for message templates: the common part of Jinja2 that marketers use,
// `{{ contact.attributes.first_name | default('there', true) }}` and friends. The server renders
// the real messages (the dry run shows them); this gives an instant preview while typing.
// Like the server, a missing value renders as empty text.

export interface RenderResult {
  text: string
  // Parts the preview could not render (shown as written), e.g. `{% if %}` blocks.
  unsupported: string[]
}

type Value = unknown

const TOKEN_RE = /\{\{([\s\S]*?)\}\}|\{%([\s\S]*?)%\}|\{#[\s\S]*?#\}/g

export function lookup(data: Value, path: string): Value {
  let current: Value = data
  for (const key of path.split('.')) {
    if (current === null || current === undefined) return undefined
    if (typeof current !== 'object') return undefined
    current = (current as Record<string, Value>)[key]
  }
  return current
}

function pyString(value: Value): string {
  if (value === null || value === undefined) return ''
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value)
    return String(value)
  }
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

// printf-style formatting, for `'%.2f' | format(x)` and `'%s items' | format(n)`.
function printf(format: string, values: Value[]): string {
  let index = 0
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([sdifr%])/g, (_m, _flags, width, precision, kind) => {
    if (kind === '%') return '%'
    const value = values[index++]
    let out: string
    if (kind === 'f') out = Number(value ?? 0).toFixed(precision === undefined ? 6 : Number(precision))
    else if (kind === 'd' || kind === 'i') out = String(Math.trunc(Number(value ?? 0)))
    else out = pyString(value)
    return width ? out.padStart(Number(width)) : out
  })
}

function truthy(value: Value): boolean {
  if (Array.isArray(value)) return value.length > 0
  if (value && typeof value === 'object') return Object.keys(value).length > 0
  return Boolean(value)
}

const FILTERS: Record<string, (value: Value, ...args: Value[]) => Value> = {
  default: (value, fallback = '', boolean = false) =>
    value === undefined || (boolean && !truthy(value)) ? fallback : value,
  upper: (value) => pyString(value).toUpperCase(),
  lower: (value) => pyString(value).toLowerCase(),
  capitalize: (value) => {
    const text = pyString(value)
    return text.charAt(0).toUpperCase() + text.slice(1).toLowerCase()
  },
  title: (value) =>
    pyString(value).replace(/\w\S*/g, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()),
  trim: (value) => pyString(value).trim(),
  round: (value, precision = 0) => {
    const factor = 10 ** Number(precision)
    const rounded = Math.round(Number(value) * factor) / factor
    return Number(precision) === 0 ? rounded.toFixed(1) : rounded
  },
  int: (value) => Math.trunc(Number(value) || 0),
  float: (value) => Number(value) || 0,
  string: (value) => pyString(value),
  length: (value) => (Array.isArray(value) || typeof value === 'string' ? value.length : 0),
  abs: (value) => Math.abs(Number(value)),
  format: (value, ...args) => printf(pyString(value), args),
  replace: (value, old, replacement) => pyString(value).split(pyString(old)).join(pyString(replacement)),
  truncate: (value, length = 255) => {
    const text = pyString(value)
    const max = Number(length)
    return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 3))}...`
  },
  join: (value, separator = '') => (Array.isArray(value) ? value.map(pyString).join(pyString(separator)) : pyString(value)),
  first: (value) => (Array.isArray(value) ? value[0] : typeof value === 'string' ? value[0] : undefined),
  last: (value) => (Array.isArray(value) ? value[value.length - 1] : typeof value === 'string' ? value[value.length - 1] : undefined),
}
FILTERS.d = FILTERS.default

class Unsupported extends Error {}

// A tiny expression reader: literals, dotted names, filters with arguments.
class Reader {
  private pos = 0
  private readonly text: string
  private readonly data: Value

  constructor(text: string, data: Value) {
    this.text = text
    this.data = data
  }

  private skip(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++
  }

  private peek(): string {
    this.skip()
    return this.text[this.pos] ?? ''
  }

  expression(): Value {
    let value = this.primary()
    while (this.peek() === '|') {
      this.pos++
      this.skip()
      const name = this.name()
      const filter = FILTERS[name]
      if (!filter) throw new Unsupported(name)
      const args: Value[] = []
      if (this.peek() === '(') {
        this.pos++
        while (this.peek() !== ')') {
          args.push(this.primary())
          if (this.peek() === ',') this.pos++
          else if (this.peek() !== ')') throw new Unsupported('arguments')
        }
        this.pos++
      }
      value = filter(value, ...args)
    }
    return value
  }

  end(): void {
    if (this.peek() !== '') throw new Unsupported('expression')
  }

  private name(): string {
    this.skip()
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos))
    if (!match) throw new Unsupported('name')
    this.pos += match[0].length
    return match[0]
  }

  private primary(): Value {
    const c = this.peek()
    if (c === "'" || c === '"') {
      const end = this.text.indexOf(c, this.pos + 1)
      if (end < 0) throw new Unsupported('string')
      const value = this.text.slice(this.pos + 1, end)
      this.pos = end + 1
      return value
    }
    const number = /^-?\d+(\.\d+)?/.exec(this.text.slice(this.pos))
    if (number) {
      this.pos += number[0].length
      return Number(number[0])
    }
    let path = this.name()
    if (path === 'true' || path === 'True') return true
    if (path === 'false' || path === 'False') return false
    if (path === 'none' || path === 'None') return null
    while (this.text[this.pos] === '.') {
      this.pos++
      path += `.${this.name()}`
    }
    return lookup(this.data, path)
  }
}

/** Renders `source` for `data` ({contact, event, vars}). */
export function renderTemplate(source: string, data: Value): RenderResult {
  const unsupported: string[] = []
  const text = source.replace(TOKEN_RE, (whole, expression: string | undefined, statement: string | undefined) => {
    if (statement !== undefined) {
      unsupported.push(whole)
      return whole
    }
    if (expression === undefined) return '' // a comment
    try {
      const reader = new Reader(expression, data)
      const value = reader.expression()
      reader.end()
      return pyString(value)
    } catch {
      unsupported.push(whole)
      return whole
    }
  })
  return { text, unsupported }
}

/** The variable names used in a template ({{ contact.attributes.first_name }} -> that path). */
export function templateVariables(source: string): string[] {
  const found = new Set<string>()
  for (const match of source.matchAll(/\{\{\s*([A-Za-z_][\w.]*)/g)) found.add(match[1])
  return [...found]
}

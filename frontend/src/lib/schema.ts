// Reading the JSON Schemas msgspec writes for node configs: `$ref` into `$defs`, optional fields as
// `anyOf: [X, {type: null}]`, and choosing the widget a marketer sees for each field.
import type { JsonSchema } from '../api/types'
import { isChannel } from './channels'

export function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let current = schema
  for (let depth = 0; current.$ref && depth < 20; depth++) {
    const name = current.$ref.replace(/^#\/\$defs\//, '')
    const target = root.$defs?.[name]
    if (!target) break
    // Keep the field's own title/description over the definition's generic one.
    const { $ref: _ref, ...own } = current
    void _ref
    current = { ...target, ...own }
  }
  return current
}

export function isNullSchema(schema: JsonSchema): boolean {
  return schema.type === 'null'
}

/** The alternatives of a field, without the `null` that only makes it optional. */
export function alternatives(schema: JsonSchema, root: JsonSchema): JsonSchema[] {
  const resolved = resolve(schema, root)
  if (!resolved.anyOf) return [resolved]
  return resolved.anyOf.filter((alt) => !isNullSchema(alt)).map((alt) => resolve(alt, root))
}

export function isOptional(schema: JsonSchema, root: JsonSchema, required: boolean): boolean {
  const resolved = resolve(schema, root)
  return !required || !!resolved.anyOf?.some(isNullSchema)
}

export type Widget =
  | { kind: 'duration' }
  | { kind: 'condition' }
  | { kind: 'channels'; options: string[] }
  | { kind: 'multiEnum'; options: string[] }
  | { kind: 'until'; schema: JsonSchema }
  | { kind: 'messages'; channels: Record<string, JsonSchema> }
  | { kind: 'enum'; options: unknown[] }
  | { kind: 'boolean' }
  | { kind: 'integer'; minimum?: number }
  | { kind: 'number' }
  | { kind: 'text'; multiline: boolean }
  | { kind: 'list'; item: JsonSchema }
  | { kind: 'object'; schema: JsonSchema }
  | { kind: 'map' }
  | { kind: 'json' }

function looksLikeDuration(schema: JsonSchema): boolean {
  return !!schema.examples?.some((e) => typeof e === 'string' && /^P(\d|T\d)/.test(e))
}

function isConditionField(name: string, schema: JsonSchema): boolean {
  // JsonLogic fields are typed `Any`: no type, no enum; the catalogue names them so.
  const untyped = !schema.type && !schema.enum && !schema.anyOf && !schema.$ref && !schema.properties
  return untyped && (schema.description === 'JsonLogic' || ['rule', 'where'].includes(name))
}

/**
 * The widget for a field: specific widgets (durations, conditions, channels, time of day,
 * messages) where the schema shows what the field is, general ones otherwise.
 */
export function widgetFor(name: string, schema: JsonSchema, root: JsonSchema): Widget {
  const resolved = resolve(schema, root)
  if (isConditionField(name, resolved)) return { kind: 'condition' }
  const alts = alternatives(resolved, root)
  // A field that is text or a nested form (wait.event) is edited as text: the flat form.
  const alt = alts.find((a) => a.type === 'string') ?? alts[0] ?? resolved
  if (alt.type === 'string' && (looksLikeDuration(resolved) || looksLikeDuration(alt))) {
    return { kind: 'duration' }
  }
  const enums = alts.flatMap((a) => a.enum ?? [])
  if (enums.length && alts.every((a) => a.enum)) return { kind: 'enum', options: enums }
  if (alt.type === 'array' && alt.items) {
    const items = resolve(alt.items, root)
    if (items.enum) {
      const options = items.enum.map(String)
      if (options.every(isChannel)) return { kind: 'channels', options }
      return { kind: 'multiEnum', options }
    }
    return { kind: 'list', item: items }
  }
  if (alt.type === 'object' && alt.properties) {
    const props = Object.keys(alt.properties)
    if (props.includes('time') && props.includes('weekdays')) return { kind: 'until', schema: alt }
    if (props.length > 0 && props.every(isChannel)) {
      const channels: Record<string, JsonSchema> = {}
      for (const channel of props) {
        const options = alternatives(alt.properties[channel], root)
        channels[channel] = options[0] ?? {}
      }
      return { kind: 'messages', channels }
    }
    return { kind: 'object', schema: alt }
  }
  if (alt.type === 'object') return { kind: 'map' }
  if (alt.type === 'boolean') return { kind: 'boolean' }
  if (alt.type === 'integer') return { kind: 'integer', minimum: alt.minimum }
  if (alt.type === 'number') return { kind: 'number' }
  if (alt.type === 'string') return { kind: 'text', multiline: false }
  return { kind: 'json' }
}

/** A starting value for a required field, from its schema. */
export function initialValue(schema: JsonSchema, root: JsonSchema): unknown {
  const resolved = resolve(schema, root)
  if (resolved.default !== undefined && resolved.default !== null) return resolved.default
  const alt = alternatives(resolved, root)[0] ?? resolved
  if (alt.enum?.length) return alt.enum[0]
  switch (alt.type) {
    case 'string':
      return ''
    case 'array':
      return []
    case 'boolean':
      return false
    case 'integer':
    case 'number':
      return 0
    case 'object': {
      const value: Record<string, unknown> = {}
      for (const key of alt.required ?? []) {
        if (alt.properties?.[key]) value[key] = initialValue(alt.properties[key], root)
      }
      return value
    }
    default:
      return null
  }
}

/** "include_current" -> "Include current": a label for a field with no title. */
export function humanize(name: string): string {
  const words = name.replace(/_/g, ' ').trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

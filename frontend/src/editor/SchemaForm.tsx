// The settings form of a node, generated from the JSON Schema of its config, with widgets a
// marketer understands (durations, conditions, channels, times of day, messages).
import { useId, useState } from 'react'
import type { Config, JsonSchema } from '../api/types'
import { channelName, isChannel } from '../lib/channels'
import { valueFromText, valueToText, type Scalar } from '../lib/condition'
import { humanize, initialValue, isOptional, resolve, widgetFor, type Widget } from '../lib/schema'
import type { Until } from '../lib/schedule'
import { ChannelPicker } from '../widgets/ChannelPicker'
import { ConditionBuilder } from '../widgets/ConditionBuilder'
import { DurationPicker } from '../widgets/DurationPicker'
import { MessagesEditor, type SampleData } from '../widgets/MessagesEditor'
import { UntilPicker } from '../widgets/UntilPicker'
import { currentMode, type FormHints } from './formHints'

export interface FormContext {
  fields: string[] // for conditions: contact.attributes.country, event.properties.total, ...
  variables: string[] // for messages
  sample: SampleData
  sampleName: string
}

interface Props {
  schema: JsonSchema
  config: Config
  onChange: (config: Config) => void
  hints: FormHints
  context: FormContext
}

function setKey(config: Config, key: string, value: unknown): Config {
  const next = { ...config }
  if (value === undefined || value === null) delete next[key]
  else next[key] = value
  return next
}

export function SchemaForm({ schema, config, onChange, hints, context }: Props) {
  const root = schema
  const object = resolve(schema, root)
  const properties = object.properties ?? {}
  const required = new Set(object.required ?? [])
  const mode = currentMode(hints, config)
  const modeId = useId()
  let names = Object.keys(properties)
  if (hints.order) names = [...hints.order.filter((n) => names.includes(n)), ...names.filter((n) => !hints.order!.includes(n))]
  if (mode) {
    names = names.filter((name) => name === hints.modes?.field || mode.fields.includes(name))
    if (hints.modes?.field) names = names.filter((name) => name !== hints.modes!.field)
  }

  return (
    <div className="schema-form">
      {hints.modes && (
        <div className="field">
          <label htmlFor={modeId}>{hints.modes.label}</label>
          <select
            id={modeId}
            value={mode?.value}
            onChange={(e) => {
              const chosen = hints.modes!.options.find((m) => m.value === e.target.value)
              if (chosen) onChange({ ...structuredClone(chosen.initial) })
            }}
          >
            {hints.modes.options.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
      )}
      {names.map((name) => (
        <FieldEditor
          key={name}
          name={name}
          schema={properties[name]}
          root={root}
          required={required.has(name)}
          value={config[name]}
          onChange={(value) => onChange(setKey(config, name, value))}
          hints={hints}
          context={context}
          preferredChannel={typeof config.channel === 'string' ? config.channel : undefined}
        />
      ))}
    </div>
  )
}

interface FieldProps {
  name: string
  schema: JsonSchema
  root: JsonSchema
  required: boolean
  value: unknown
  onChange: (value: unknown) => void
  hints: FormHints
  context: FormContext
  preferredChannel?: string
}

function FieldEditor({ name, schema, root, required, value, onChange, hints, context, preferredChannel }: FieldProps) {
  const id = useId()
  const resolved = resolve(schema, root)
  const label = hints.labels?.[name] ?? resolved.title ?? humanize(name)
  const optional = isOptional(schema, root, required) && !hints.required?.includes(name)
  const help = hints.help?.[name] ?? (resolved.description && resolved.description !== 'JsonLogic' ? resolved.description : undefined)
  const widget: Widget = widgetFor(name, schema, root)
  const placeholder = hints.placeholders?.[name]

  switch (widget.kind) {
    case 'duration':
      return <DurationPicker label={label} value={typeof value === 'string' ? value : undefined} onChange={onChange} help={help} />
    case 'condition':
      return (
        <ConditionBuilder
          label={label}
          value={value}
          onChange={onChange}
          fields={context.fields}
          defaultField={name === 'where' ? context.fields.find((f) => f.startsWith('event.properties.')) : undefined}
          help={help}
        />
      )
    case 'channels':
      return <ChannelPicker label={label} value={Array.isArray(value) ? value.map(String) : []} options={widget.options} onChange={onChange} help={help} />
    case 'until':
      return <UntilPicker label={label} value={value as Partial<Until> | undefined} onChange={onChange} />
    case 'messages':
      return (
        <MessagesEditor
          label={label}
          value={(value as Record<string, Record<string, string>>) ?? {}}
          onChange={onChange}
          channels={widget.channels}
          root={root}
          preferred={preferredChannel}
          variables={context.variables}
          sample={context.sample}
          sampleName={context.sampleName}
        />
      )
    case 'enum': {
      const words = hints.enumLabels?.[name] ?? {}
      const options = widget.options
      return (
        <div className="field">
          <label htmlFor={id}>{label}</label>
          <select id={id} value={value === undefined || value === null ? '' : String(value)} onChange={(e) => onChange(e.target.value === '' ? undefined : options.find((o) => String(o) === e.target.value))}>
            {(optional || value === undefined) && <option value="">{optional ? '(none)' : 'Choose…'}</option>}
            {options.map((option) => (
              <option key={String(option)} value={String(option)}>
                {words[String(option)] ?? (isChannel(String(option)) ? channelName(String(option)) : humanize(String(option)))}
              </option>
            ))}
          </select>
          {help && <p className="help">{help}</p>}
        </div>
      )
    }
    case 'multiEnum':
      return (
        <fieldset className="field">
          <legend>{label}</legend>
          {widget.options.map((option) => {
            const list = Array.isArray(value) ? value.map(String) : []
            return (
              <label key={option} className="check">
                <input
                  type="checkbox"
                  checked={list.includes(option)}
                  onChange={(e) => onChange(e.target.checked ? [...list, option] : list.filter((v) => v !== option))}
                />
                {humanize(option)}
              </label>
            )
          })}
        </fieldset>
      )
    case 'boolean':
      return (
        <div className="field">
          <label className="check">
            <input type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked ? true : undefined)} />
            {label}
          </label>
          {help && <p className="help">{help}</p>}
        </div>
      )
    case 'integer':
    case 'number':
      return (
        <div className="field">
          <label htmlFor={id}>{label}</label>
          <input
            id={id}
            type="number"
            min={widget.kind === 'integer' ? widget.minimum : undefined}
            step={widget.kind === 'integer' ? 1 : 'any'}
            value={typeof value === 'number' ? value : ''}
            onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
          />
          {help && <p className="help">{help}</p>}
        </div>
      )
    case 'text':
      return (
        <div className="field">
          <label htmlFor={id}>
            {label}
            {optional && <span className="muted"> (optional)</span>}
          </label>
          <input id={id} value={typeof value === 'string' ? value : ''} placeholder={placeholder} onChange={(e) => onChange(e.target.value === '' && optional ? undefined : e.target.value)} />
          {help && <p className="help">{help}</p>}
        </div>
      )
    case 'list':
      return <ListEditor label={label} item={widget.item} root={root} value={Array.isArray(value) ? value : []} onChange={onChange} help={help} context={context} />
    case 'object':
      return (
        <fieldset className="field">
          <legend>{label}</legend>
          <SchemaForm schema={{ ...widget.schema, $defs: root.$defs }} config={(value as Config) ?? {}} onChange={onChange} hints={{}} context={context} />
        </fieldset>
      )
    case 'map':
      return <MapEditor label={label} value={(value as Record<string, unknown>) ?? {}} onChange={onChange} help={help} />
    default:
      return <JsonField label={label} value={value} onChange={onChange} />
  }
}

function ListEditor({
  label,
  item,
  root,
  value,
  onChange,
  help,
  context,
}: {
  label: string
  item: JsonSchema
  root: JsonSchema
  value: unknown[]
  onChange: (value: unknown[]) => void
  help?: string
  context: FormContext
}) {
  const itemSchema = resolve(item, root)
  const itemName = (itemSchema.title ?? 'item').toLowerCase()
  return (
    <fieldset className="field list">
      <legend>{label}</legend>
      {value.map((entry, index) => (
        <div className="list-item" key={index} role="group" aria-label={`${itemSchema.title ?? 'Item'} ${index + 1}`}>
          {itemSchema.type === 'object' ? (
            <SchemaForm
              schema={{ ...itemSchema, $defs: root.$defs }}
              config={(entry as Config) ?? {}}
              onChange={(next) => onChange(value.map((v, i) => (i === index ? next : v)))}
              hints={{}}
              context={context}
            />
          ) : (
            <input aria-label={`${itemSchema.title ?? 'Item'} ${index + 1}`} value={valueToText(entry as Scalar)} onChange={(e) => onChange(value.map((v, i) => (i === index ? valueFromText(e.target.value) : v)))} />
          )}
          <button type="button" className="link danger" aria-label={`Remove ${itemName} ${index + 1}`} onClick={() => onChange(value.filter((_, i) => i !== index))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="small" onClick={() => onChange([...value, initialValue(item, root)])}>
        Add {itemName}
      </button>
      {help && <p className="help">{help}</p>}
    </fieldset>
  )
}

function MapEditor({ label, value, onChange, help }: { label: string; value: Record<string, unknown>; onChange: (value: Record<string, unknown>) => void; help?: string }) {
  const [rows, setRows] = useState<Array<[string, string]>>(() => Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
  const emit = (next: Array<[string, string]>) => {
    setRows(next)
    const out: Record<string, unknown> = {}
    for (const [key, text] of next) if (key.trim()) out[key.trim()] = text.includes('{{') ? text : valueFromText(text)
    onChange(out)
  }
  return (
    <fieldset className="field map">
      <legend>{label}</legend>
      {rows.map(([key, text], index) => (
        <div className="map-row" key={index}>
          <input aria-label={`Attribute ${index + 1}`} placeholder="attribute, e.g. lifecycle" value={key} onChange={(e) => emit(rows.map((r, i) => (i === index ? [e.target.value, r[1]] : r)))} />
          <span aria-hidden="true">=</span>
          <input aria-label={`Value ${index + 1}`} placeholder="value or {{ template }}" value={text} onChange={(e) => emit(rows.map((r, i) => (i === index ? [r[0], e.target.value] : r)))} />
          <button type="button" className="icon" aria-label={`Remove attribute ${index + 1}`} onClick={() => emit(rows.filter((_, i) => i !== index))}>
            ×
          </button>
        </div>
      ))}
      <button type="button" className="small" onClick={() => setRows([...rows, ['', '']])}>
        Add attribute
      </button>
      {help && <p className="help">{help}</p>}
    </fieldset>
  )
}

function JsonField({ label, value, onChange }: { label: string; value: unknown; onChange: (value: unknown) => void }) {
  const id = useId()
  const [text, setText] = useState(() => (value === undefined ? '' : JSON.stringify(value, null, 2)))
  const [error, setError] = useState('')
  return (
    <div className="field">
      <label htmlFor={id}>{label} (JSON)</label>
      <textarea
        id={id}
        className="mono"
        rows={4}
        value={text}
        onChange={(e) => {
          setText(e.target.value)
          try {
            onChange(e.target.value.trim() ? JSON.parse(e.target.value) : undefined)
            setError('')
          } catch {
            setError('This is not valid JSON yet.')
          }
        }}
      />
      {error && <p className="error">{error}</p>}
    </div>
  )
}

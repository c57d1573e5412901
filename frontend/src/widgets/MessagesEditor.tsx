// One message per channel, with {{ variables }} from the contact's fields and a live preview for
// a sample contact.
import { useId, useRef, useState, type RefObject } from 'react'
import type { JsonSchema } from '../api/types'
import { channelName } from '../lib/channels'
import { fieldLabel } from '../lib/condition'
import { humanize, resolve } from '../lib/schema'
import { describeSmsLength, smsLength } from '../lib/smsSegments'
import { renderTemplate } from '../lib/template'

export interface SampleData {
  contact: Record<string, unknown>
  event: Record<string, unknown> | null
  vars: Record<string, unknown>
}

interface Props {
  label: string
  value: Record<string, Record<string, string> | undefined>
  onChange: (value: Record<string, Record<string, string>>) => void
  channels: Record<string, JsonSchema>
  root: JsonSchema
  preferred?: string
  variables: string[]
  sample: SampleData
  sampleName: string
}

const FIELD_WORDS: Record<string, string> = {
  subject: 'Subject',
  text: 'Message',
  html: 'HTML version (optional)',
  title: 'Title',
  body: 'Message',
  url: 'Link to open (optional)',
}
const LONG_FIELDS = new Set(['text', 'body', 'html'])

function clean(value: Props['value']): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {}
  for (const [channel, fields] of Object.entries(value)) if (fields) out[channel] = fields
  return out
}

export function MessagesEditor(props: Props) {
  const { label, value, onChange, channels, root, preferred, variables, sample, sampleName } = props
  const names = Object.keys(channels)
  const firstWritten = names.find((channel) => value[channel])
  const [chosen, setChosen] = useState<string | null>(null)
  const active = chosen && names.includes(chosen) ? chosen : preferred && names.includes(preferred) ? preferred : (firstWritten ?? names[0])
  const tabsId = useId()
  const schema = resolve(channels[active] ?? {}, root)
  const fields = Object.keys(schema.properties ?? {})
  const required = new Set(schema.required ?? [])
  const content = value[active]

  const setField = (field: string, text: string) => {
    const next = { ...(content ?? {}) }
    if (text === '' && !required.has(field)) delete next[field]
    else next[field] = text
    onChange({ ...clean(value), [active]: next })
  }

  return (
    <fieldset className="field messages">
      <legend>{label}</legend>
      <div role="tablist" aria-label="Channels" className="tabs">
        {names.map((channel) => (
          <button
            key={channel}
            type="button"
            role="tab"
            id={`${tabsId}-${channel}`}
            aria-selected={channel === active}
            aria-controls={`${tabsId}-panel`}
            className={`tab${value[channel] ? ' written' : ''}`}
            onClick={() => setChosen(channel)}
          >
            {channelName(channel)}
            {value[channel] ? <span aria-label=" (written)"> ✓</span> : null}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${tabsId}-panel`} aria-labelledby={`${tabsId}-${active}`} className="tabpanel">
        {!content ? (
          <div className="empty-message">
            <p className="muted">No {channelName(active)} message yet.</p>
            <button
              type="button"
              onClick={() => {
                const fresh: Record<string, string> = {}
                for (const field of fields) if (required.has(field)) fresh[field] = ''
                onChange({ ...clean(value), [active]: fresh })
              }}
            >
              Write the {channelName(active)} message
            </button>
          </div>
        ) : (
          <>
            {fields.map((field) => (
              <TemplateField
                key={`${active}-${field}`}
                label={`${channelName(active)} ${(FIELD_WORDS[field] ?? humanize(field)).toLowerCase()}`}
                shortLabel={FIELD_WORDS[field] ?? humanize(field)}
                value={content[field] ?? ''}
                long={LONG_FIELDS.has(field)}
                variables={variables}
                onChange={(text) => setField(field, text)}
                note={active === 'sms' && field === 'text' ? smsNote(content[field] ?? '', sample, sampleName) : undefined}
              />
            ))}
            <Preview channel={active} content={content} sample={sample} sampleName={sampleName} />
            <button
              type="button"
              className="link danger"
              onClick={() => {
                const next = clean(value)
                delete next[active]
                onChange(next)
              }}
            >
              Remove the {channelName(active)} message
            </button>
          </>
        )}
      </div>
    </fieldset>
  )
}

interface FieldProps {
  label: string
  shortLabel: string
  value: string
  long: boolean
  variables: string[]
  onChange: (value: string) => void
  note?: string
}

// The SMS as it would go to the sample contact: its length decides the segments billed.
function smsNote(source: string, sample: SampleData, sampleName: string): string {
  return `${describeSmsLength(smsLength(renderTemplate(source, sample).text))}, for ${sampleName}`
}

function TemplateField({ label, shortLabel, value, long, variables, onChange, note }: FieldProps) {
  const id = useId()
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null)
  return (
    <div className="field template-field">
      <div className="template-head">
        <label htmlFor={id}>{shortLabel}</label>
        <VariableMenu target={ref} value={value} variables={variables} onChange={onChange} fieldLabel={label} />
      </div>
      {long ? (
        <textarea id={id} ref={ref} aria-label={label} rows={4} value={value} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input id={id} ref={ref} aria-label={label} value={value} onChange={(e) => onChange(e.target.value)} />
      )}
      {note !== undefined && (
        <p className="help sms-length" aria-live="polite">
          {note}
        </p>
      )}
    </div>
  )
}

function VariableMenu({
  target,
  value,
  variables,
  onChange,
  fieldLabel: forField,
}: {
  target: RefObject<HTMLInputElement | HTMLTextAreaElement | null>
  value: string
  variables: string[]
  onChange: (value: string) => void
  fieldLabel: string
}) {
  return (
    <select
      className="small variable-menu"
      aria-label={`Insert a variable into ${forField}`}
      value=""
      onChange={(e) => {
        const variable = e.target.value
        if (!variable) return
        const element = target.current
        const start = element?.selectionStart ?? value.length
        const end = element?.selectionEnd ?? value.length
        const insert = `{{ ${variable} }}`
        onChange(value.slice(0, start) + insert + value.slice(end))
        requestAnimationFrame(() => {
          element?.focus()
          element?.setSelectionRange(start + insert.length, start + insert.length)
        })
      }}
    >
      <option value="">Insert {'{{ }}'}…</option>
      {variables.map((variable) => (
        <option key={variable} value={variable}>
          {fieldLabel(variable)}
        </option>
      ))}
    </select>
  )
}

function Preview({
  channel,
  content,
  sample,
  sampleName,
}: {
  channel: string
  content: Record<string, string>
  sample: SampleData
  sampleName: string
}) {
  const rendered: Record<string, string> = {}
  const unsupported: string[] = []
  for (const [field, source] of Object.entries(content)) {
    const result = renderTemplate(source ?? '', sample)
    rendered[field] = result.text
    unsupported.push(...result.unsupported)
  }
  return (
    <section className={`preview preview-${channel}`} aria-label={`Preview for ${sampleName}`}>
      <h4>Preview for {sampleName}</h4>
      {channel === 'email' && (
        <div className="preview-email">
          <div className="preview-subject">{rendered.subject || <em className="muted">(no subject)</em>}</div>
          <div className="preview-body">{rendered.text}</div>
        </div>
      )}
      {channel === 'push' && (
        <div className="preview-push">
          <strong>{rendered.title}</strong>
          <div>{rendered.body}</div>
          {rendered.url && <div className="muted">Opens {rendered.url}</div>}
        </div>
      )}
      {channel !== 'email' && channel !== 'push' && <div className="preview-bubble">{rendered.text}</div>}
      {unsupported.length > 0 && (
        <p className="help">Some parts are shown as written here; the dry run shows them rendered: {unsupported.join(' ')}</p>
      )}
    </section>
  )
}

// One template: its fields, its versions, and a live preview for a chosen contact rendered by
// the server (the same sandbox, filters and CSS inlining as a real send), with the SMS length.
import { useEffect, useId, useState } from 'react'
import { Link, useNavigate, useParams } from 'react-router'
import { ApiError } from '../api/client'
import { channelName } from '../lib/channels'
import { ChannelOptions } from '../widgets/ChannelOptions'
import { describeSmsLength, smsLength } from '../lib/smsSegments'
import {
  CHANNELS,
  FIELDS,
  cleanContent,
  emptyContent,
  isChannel,
  keyFromName,
  keyProblem,
  previewRequest,
  sameContent,
  smsSummary,
  templatesApi,
  type Channel,
  type Content,
  type PreviewResult,
  type TemplateDetail,
} from './TemplatesModel'

const PREVIEW_DELAY_MS = 300

export function TemplatesEditor() {
  const { templateKey } = useParams()
  const isNew = templateKey === undefined || templateKey === '_new'
  const navigate = useNavigate()
  const [saved, setSaved] = useState<TemplateDetail | null>(null)
  const [name, setName] = useState('')
  const [key, setKey] = useState('')
  const [keyTouched, setKeyTouched] = useState(false)
  const [channel, setChannel] = useState<Channel>('sms')
  const [content, setContent] = useState<Content>(emptyContent('sms'))
  const [error, setError] = useState('')
  const [notice, setNotice] = useState('')
  const [saving, setSaving] = useState(false)

  useEffect(() => {
    if (isNew) return
    templatesApi.get(templateKey).then(
      (detail) => {
        setSaved(detail)
        setName(detail.name)
        setKey(detail.key)
        setChannel(detail.channel)
        setContent({ ...emptyContent(detail.channel), ...detail.content })
      },
      (failure: unknown) => setError(failure instanceof ApiError ? failure.message : 'Could not load the template.'),
    )
  }, [isNew, templateKey])

  const dirty = isNew || (saved !== null && (!sameContent(cleanContent(channel, content), saved.content) || name !== saved.name))

  async function save() {
    setError('')
    setNotice('')
    if (isNew) {
      const problem = keyProblem(key)
      if (problem) {
        setError(problem)
        return
      }
    }
    setSaving(true)
    try {
      const body = { name: name.trim() || key, content: cleanContent(channel, content) }
      const detail = isNew ? await templatesApi.create({ ...body, key, channel }) : await templatesApi.save(saved?.key ?? key, body)
      setSaved(detail)
      setNotice(`Saved as version ${detail.version}. Flows get it when they are published again.`)
      if (isNew) navigate(`/templates/${encodeURIComponent(detail.key)}`, { replace: true })
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : 'Could not save the template.')
    } finally {
      setSaving(false)
    }
  }

  if (!isNew && saved === null) {
    return <main className="page">{error ? <p className="error-box" role="alert">{error}</p> : <p role="status">Loading template…</p>}</main>
  }

  return (
    <main className="page template-page">
      <p>
        <Link to="/templates">← All templates</Link>
      </p>
      <div className="page-head">
        <h1>{isNew ? 'New template' : saved?.name}</h1>
        {saved && <span className="muted">{`${channelName(saved.channel)} · version ${saved.version} · key `}<code>{saved.key}</code></span>}
        <span className="spacer" />
        <button type="button" className="primary" disabled={saving || !dirty} onClick={() => void save()}>
          {isNew ? 'Create template' : 'Save as a new version'}
        </button>
      </div>
      {error && (
        <p className="error-box" role="alert">
          {error}
        </p>
      )}
      {notice && <p role="status">{notice}</p>}
      <div className="template-columns">
        <section aria-label="Template" className="card">
          <label className="field">
            Name
            <input
              value={name}
              onChange={(e) => {
                setName(e.target.value)
                if (isNew && !keyTouched) setKey(keyFromName(e.target.value))
              }}
            />
          </label>
          {isNew && (
            <>
              <label className="field">
                Key (send nodes name the template by it)
                <input
                  value={key}
                  className="mono"
                  onChange={(e) => {
                    setKeyTouched(true)
                    setKey(e.target.value)
                  }}
                />
              </label>
              <label className="field">
                Channel
                <select
                  value={channel}
                  onChange={(e) => {
                    if (!isChannel(e.target.value)) return
                    setChannel(e.target.value)
                    setContent(emptyContent(e.target.value))
                  }}
                >
                  <ChannelOptions channels={CHANNELS} />
                </select>
              </label>
            </>
          )}
          {FIELDS[channel].map((field) => (
            <TemplateFieldInput
              key={`${channel}-${field.name}`}
              label={field.label}
              long={field.long}
              value={content[field.name] ?? ''}
              onChange={(value) => setContent((current) => ({ ...current, [field.name]: value }))}
              note={channel === 'sms' && field.name === 'text' ? `As written: ${describeSmsLength(smsLength(content.text ?? ''))}` : undefined}
            />
          ))}
          {saved && saved.versions.length > 1 && (
            <Versions
              detail={saved}
              onLoad={(version) => {
                setContent({ ...emptyContent(channel), ...version })
                setNotice('An earlier version is in the editor; save to make it the current one.')
              }}
            />
          )}
        </section>
        <Preview templateKey={isNew ? null : (saved?.key ?? null)} channel={channel} content={content} />
      </div>
    </main>
  )
}

function TemplateFieldInput(props: { label: string; long: boolean; value: string; onChange: (value: string) => void; note?: string }) {
  const id = useId()
  return (
    <div className="field template-field">
      <label htmlFor={id}>{props.label}</label>
      {props.long ? (
        <textarea id={id} rows={props.label.startsWith('HTML') ? 8 : 4} value={props.value} onChange={(e) => props.onChange(e.target.value)} />
      ) : (
        <input id={id} value={props.value} onChange={(e) => props.onChange(e.target.value)} />
      )}
      {props.note && <p className="help sms-length">{props.note}</p>}
    </div>
  )
}

function Versions({ detail, onLoad }: { detail: TemplateDetail; onLoad: (content: Content) => void }) {
  return (
    <details className="versions">
      <summary>Versions ({detail.versions.length})</summary>
      <ul>
        {detail.versions.map((version) => (
          <li key={version.number}>
            v{version.number} · {new Date(version.created_at).toLocaleString()}
            {version.number === detail.version ? (
              <span className="muted"> (current)</span>
            ) : (
              <button type="button" className="link" onClick={() => onLoad(version.content)}>
                Load into the editor
              </button>
            )}
          </li>
        ))}
      </ul>
    </details>
  )
}

function Preview({ templateKey, channel, content }: { templateKey: string | null; channel: Channel; content: Content }) {
  const [contact, setContact] = useState('')
  const [eventJson, setEventJson] = useState('')
  const [answer, setAnswer] = useState<{ result: PreviewResult | null; problem: string }>({ result: null, problem: '' })
  const request = previewRequest({ key: templateKey, channel, content, contact, eventJson })
  const requestText = JSON.stringify(request)

  useEffect(() => {
    const ask = JSON.parse(requestText) as ReturnType<typeof previewRequest>
    if ('problem' in ask) return
    let current = true
    const timer = setTimeout(() => {
      templatesApi.preview(ask).then(
        (result) => {
          if (current) setAnswer({ result, problem: '' })
        },
        (failure: unknown) => {
          if (current) setAnswer({ result: null, problem: failure instanceof ApiError ? failure.message : 'The preview failed.' })
        },
      )
    }, PREVIEW_DELAY_MS)
    return () => {
      current = false
      clearTimeout(timer)
    }
  }, [requestText])

  // A request that cannot be made yet says why; otherwise the latest answer shows.
  const problem = 'problem' in request ? request.problem : answer.problem
  const result = 'problem' in request ? null : answer.result
  const summary = result ? smsSummary(result) : null
  return (
    <section aria-label="Preview" className="card template-preview">
      <h2>Preview</h2>
      <label className="field">
        For contact (id)
        <input value={contact} placeholder="c-1" onChange={(e) => setContact(e.target.value)} />
      </label>
      <label className="field">
        Sample event (JSON, optional)
        <textarea rows={3} className="mono" value={eventJson} placeholder='{"properties": {"order_id": "A-17"}}' onChange={(e) => setEventJson(e.target.value)} />
      </label>
      {problem && <p className={contact.trim() ? 'error-box' : 'muted'} role={contact.trim() ? 'alert' : undefined}>{problem}</p>}
      {result && (
        <div className={`preview preview-${channel}`} aria-label="Rendered message">
          {FIELDS[channel]
            .filter((field) => result.content[field.name] !== undefined)
            .map((field) =>
              field.name === 'html' ? (
                <iframe key={field.name} title="HTML preview" sandbox="" srcDoc={result.content.html} className="preview-html" />
              ) : (
                <div key={field.name} className={`preview-${field.name}`}>
                  <span className="muted">{field.label.replace(/ \(.*\)$/, '')}: </span>
                  <span className="preview-text">{result.content[field.name]}</span>
                </div>
              ),
            )}
          {summary && (
            <p className="help sms-length" aria-live="polite">
              {summary}
            </p>
          )}
        </div>
      )}
    </section>
  )
}

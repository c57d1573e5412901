// The dry run: who (contacts), what happens (scripted events), when (start and horizon); then
// the counts on the canvas, each contact's outcome, its path and its messages.
import { useEffect, useId, useState } from 'react'
import { api, ApiError } from '../api/client'
import type { SimRun } from '../api/types'
import { channelName } from '../lib/channels'
import { plural, utcTime } from '../lib/format'
import { DurationPicker } from '../widgets/DurationPicker'
import { displayName, sentence } from './document'
import { buildRequest, isoToLocal, parseJsonLines } from './dryRunInput'
import { saveNow } from './saver'
import { useEditor, type ScriptedEvent } from './store'

const STATUS_WORDS: Record<string, string> = {
  completed: 'Completed',
  exited: 'Exited',
  waiting: 'Still waiting at the end',
}

/** Properties as "key: value" pairs when they are plain values, else as JSON. */
function detailsText(properties: Record<string, unknown>): string {
  const entries = Object.entries(properties)
  const plain = entries.every(([, v]) => typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && !/[,:]\s|^\s|\s$/.test(v)))
  return plain ? entries.map(([k, v]) => `${k}: ${String(v)}`).join(', ') : JSON.stringify(properties)
}

function outcome(run: SimRun): string {
  const base = STATUS_WORDS[run.status] ?? run.status
  const reason = typeof run.reason === 'string' ? run.reason : undefined
  return reason ? `${base} (${reason.replace(/_/g, ' ')})` : base
}

export function DryRunPanel() {
  const dry = useEditor((s) => s.dryRun)
  const update = useEditor((s) => s.updateDryRun)
  const contacts = useEditor((s) => s.contacts)
  const nodes = useEditor((s) => s.nodes)
  const setCounts = useEditor((s) => s.setCounts)
  const setHighlight = useEditor((s) => s.setHighlight)
  const id = useId()
  const [pasteEvents, setPasteEvents] = useState<string | null>(null)

  // Coming back to this view shows the last results again.
  useEffect(() => {
    const { dryRun } = useEditor.getState()
    if (!dryRun.report) return
    setCounts(dryRun.report.nodes)
    const run = dryRun.selected === null ? undefined : dryRun.report.runs[dryRun.selected]
    if (run) setHighlight(run.contact, run.path)
  }, [setCounts, setHighlight])

  const eventNames = [
    ...new Set(
      nodes.flatMap((n) => {
        const c = n.data.config
        const names: unknown[] = [n.data.type === 'trigger' ? c.event : undefined, n.data.type === 'wait' ? (typeof c.event === 'string' ? c.event : (c.event as { name?: string } | undefined)?.name) : undefined]
        return names.filter((v): v is string => typeof v === 'string' && v !== '')
      }),
    ),
  ]

  const setEvent = (index: number, patch: Partial<ScriptedEvent>) =>
    update({ events: dry.events.map((e, i) => (i === index ? { ...e, ...patch } : e)) })

  async function run() {
    const state = useEditor.getState()
    if (state.flowId === null) return
    const { body, errors } = buildRequest(state.dryRun)
    if (errors.length) {
      update({ error: errors.join(' '), errorProblems: [] })
      return
    }
    update({ running: true, error: '', errorProblems: [] })
    await saveNow() // the dry run runs the saved draft
    try {
      const report = await api.simulate(state.flowId, body)
      update({ report, running: false, selected: null })
      setCounts(report.nodes)
      setHighlight(null)
    } catch (error) {
      update({
        running: false,
        report: null,
        error: error instanceof ApiError ? error.message : 'The dry run failed.',
        errorProblems: error instanceof ApiError ? error.problems : [],
      })
      setCounts(null)
    }
  }

  function select(run: SimRun, index: number) {
    const same = dry.selected === index
    update({ selected: same ? null : index })
    setHighlight(same ? null : run.contact, run.path)
  }

  const report = dry.report
  const selectedRun = report && dry.selected !== null ? report.runs[dry.selected] : undefined
  // A contact who entered more than once is told apart by when they entered.
  const entries = new Map<string, number>()
  for (const run of report?.runs ?? []) entries.set(run.contact, (entries.get(run.contact) ?? 0) + 1)
  const messageTotal = report ? Object.values(report.messages).reduce((a, b) => a + b, 0) : 0
  const nameOf = (nodeId: string) => {
    const node = nodes.find((n) => n.id === nodeId)
    return node ? displayName(node.id, node.data.label) : nodeId
  }

  return (
    <section className="side-section dry-run" aria-label="Dry run">
      <h2>Dry run</h2>
      <p className="help">See what the flow would do, without sending anything. Time is simulated: 30 days take a moment.</p>

      <fieldset className="field">
        <legend>Contacts</legend>
        <label className="check">
          <input type="radio" name={`${id}-source`} checked={dry.source === 'database'} onChange={() => update({ source: 'database' })} />
          Contacts in the database ({contacts.length >= 200 ? '200 or more' : contacts.length})
        </label>
        {dry.source === 'database' && (
          <div className="field nested">
            <label htmlFor={`${id}-ids`}>Only these (contact ids, optional)</label>
            <input id={`${id}-ids`} list={`${id}-contact-ids`} value={dry.contactIds} placeholder="all of them" onChange={(e) => update({ contactIds: e.target.value })} />
          </div>
        )}
        <label className="check">
          <input type="radio" name={`${id}-source`} checked={dry.source === 'pasted'} onChange={() => update({ source: 'pasted' })} />
          Contacts I paste here
        </label>
        {dry.source === 'pasted' && (
          <div className="field nested">
            <label htmlFor={`${id}-paste`}>One contact per line, as JSON</label>
            <textarea id={`${id}-paste`} className="mono" rows={5} value={dry.pasted} placeholder={'{"id": "c-1", "email": "ann@example.com", "attributes": {"first_name": "Ann"}}'} onChange={(e) => update({ pasted: e.target.value })} />
          </div>
        )}
      </fieldset>

      <datalist id={`${id}-contact-ids`}>
        {contacts.map((c) => (
          <option key={c.id} value={c.id} />
        ))}
      </datalist>
      <datalist id={`${id}-event-names`}>
        {eventNames.map((name) => (
          <option key={name} value={name} />
        ))}
      </datalist>

      <fieldset className="field">
        <legend>What happens (events)</legend>
        {dry.events.length === 0 && <p className="muted">No events yet. Flows that start on an event need at least one.</p>}
        <ol className="events">
          {dry.events.map((event, index) => (
            <li key={index} className="event-row" role="group" aria-label={`Event ${index + 1}`}>
              <input aria-label={`Event ${index + 1}: contact`} list={`${id}-contact-ids`} placeholder="contact id" value={event.contact} onChange={(e) => setEvent(index, { contact: e.target.value })} />
              <input aria-label={`Event ${index + 1}: what happened`} list={`${id}-event-names`} placeholder="event name" value={event.name} onChange={(e) => setEvent(index, { name: e.target.value })} />
              <input aria-label={`Event ${index + 1}: when (UTC)`} type="datetime-local" value={event.at} onChange={(e) => setEvent(index, { at: e.target.value })} />
              <input aria-label={`Event ${index + 1}: details`} placeholder="details, e.g. cart_total: 42" value={event.details} onChange={(e) => setEvent(index, { details: e.target.value })} />
              <button type="button" className="icon" aria-label={`Remove event ${index + 1}`} onClick={() => update({ events: dry.events.filter((_, i) => i !== index) })}>
                ×
              </button>
            </li>
          ))}
        </ol>
        <div className="button-row">
          <button
            type="button"
            className="small"
            onClick={() => {
              const last = dry.events[dry.events.length - 1]
              update({ events: [...dry.events, { contact: last?.contact ?? contacts[0]?.id ?? '', name: eventNames[0] ?? '', at: last?.at ?? '', details: '' }] })
            }}
          >
            Add event
          </button>
          <button type="button" className="small ghost" onClick={() => setPasteEvents(pasteEvents === null ? '' : null)}>
            Paste events as JSON lines
          </button>
        </div>
        {pasteEvents !== null && (
          <div className="field nested">
            <label htmlFor={`${id}-paste-events`}>One event per line, as JSON</label>
            <textarea id={`${id}-paste-events`} className="mono" rows={4} value={pasteEvents} onChange={(e) => setPasteEvents(e.target.value)} />
            <button
              type="button"
              className="small"
              onClick={() => {
                const parsed = parseJsonLines(pasteEvents)
                if (parsed.errors.length) {
                  update({ error: parsed.errors.join(' ') })
                  return
                }
                const rows: ScriptedEvent[] = parsed.items.map((item) => {
                  const e = item as { contact?: string; name?: string; at?: string; properties?: Record<string, unknown> }
                  return {
                    contact: e.contact ?? '',
                    name: e.name ?? '',
                    at: e.at ? isoToLocal(e.at) : '',
                    details: e.properties ? detailsText(e.properties) : '',
                  }
                })
                update({ events: [...dry.events, ...rows], error: '' })
                setPasteEvents(null)
              }}
            >
              Add these events
            </button>
          </div>
        )}
      </fieldset>

      <fieldset className="field">
        <legend>When</legend>
        <div className="field">
          <label htmlFor={`${id}-start`}>Start at (UTC)</label>
          <input id={`${id}-start`} type="datetime-local" value={dry.start} onChange={(e) => update({ start: e.target.value })} />
          <p className="help">Empty: at the first event.</p>
        </div>
        <DurationPicker label="Simulate for" value={dry.horizon} onChange={(value) => update({ horizon: value ?? '' })} />
      </fieldset>

      <button type="button" className="primary" disabled={dry.running} onClick={() => void run()}>
        {dry.running ? 'Running…' : 'Run the dry run'}
      </button>

      {dry.error && (
        <div className="error-box" role="alert">
          {dry.error}
          {dry.errorProblems.length > 0 && (
            <ul>
              {dry.errorProblems.map((p, i) => (
                <li key={i}>
                  {p.node ? `${nameOf(p.node)}: ` : ''}
                  {sentence(p.message)}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}

      {report && (
        <div className="results" aria-label="Dry run results" role="region">
          <h3>Results</h3>
          <p role="status">
            {plural(report.runs.length, 'contact')} entered the flow; {plural(messageTotal, 'message')} would be sent
            {messageTotal > 0 && ` (${Object.entries(report.messages).map(([c, n]) => `${channelName(c)} ${n}`).join(', ')})`}.
          </p>
          {report.runs.length === 0 && <p className="muted">No one entered. Check the trigger and the events.</p>}
          <ul className="runs" aria-label="Contacts in the dry run">
            {report.runs.map((run, index) => (
              <li key={index}>
                <button type="button" className="run" aria-pressed={dry.selected === index} onClick={() => select(run, index)}>
                  <span className="run-contact">
                    {run.contact}
                    {(entries.get(run.contact) ?? 0) > 1 && run.path[0] && <span className="muted"> · entered {utcTime(run.path[0].at)}</span>}
                  </span>
                  <span className={`run-status run-${run.status}`}>{outcome(run)}</span>
                  <span className="muted">{plural(run.messages.length, 'message')}</span>
                </button>
              </li>
            ))}
          </ul>
          {selectedRun && (
            <div className="run-detail" aria-label={`Path of ${selectedRun.contact}`} role="region">
              <h4>Path of {selectedRun.contact}</h4>
              <ol className="path">
                {selectedRun.path.map((step, index) => (
                  <li key={index}>
                    <strong>{nameOf(step.node)}</strong> <span className="muted">{utcTime(step.at)}</span>
                    {step.port && <> → {step.port}</>}
                    {step.reason && <span className="muted"> ({String(step.reason).replace(/_/g, ' ')})</span>}
                    {step.reasons && (
                      <span className="muted">
                        {' '}
                        (skipped: {Object.entries(step.reasons).map(([c, r]) => `${channelName(c)} ${r.replace(/_/g, ' ')}`).join(', ')})
                      </span>
                    )}
                  </li>
                ))}
              </ol>
              <h4>Messages {selectedRun.contact} would receive</h4>
              {selectedRun.messages.length === 0 && <p className="muted">None.</p>}
              {selectedRun.messages.map((message, index) => (
                <article key={index} className={`message preview-${message.channel}`} aria-label={`${channelName(message.channel)} message to ${message.to}`}>
                  <header>
                    <strong>{channelName(message.channel)}</strong> to {message.to} · {utcTime(message.at)} · from {nameOf(message.node)}
                  </header>
                  {Object.entries(message.content).map(([field, text]) => (
                    <div key={field} className="message-field">
                      <span className="muted">{field}:</span> <span className="message-text">{text}</span>
                    </div>
                  ))}
                </article>
              ))}
            </div>
          )}
        </div>
      )}
    </section>
  )
}

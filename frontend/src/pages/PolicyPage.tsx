// Settings -> Delivery rules: the workspace's delivery policy as a form (frequency caps per
// channel, transactional topics, quiet hours), saved whole with one PUT. docs/policy.md.
import { useEffect, useState, type FormEvent } from 'react'
import { Link } from 'react-router'
import { api, errorText } from '../api/client'
import { channelName } from '../lib/channels'
import {
  capFieldId,
  capLabel,
  DEFAULT_QUIET,
  emptyForm,
  formFromPolicy,
  formProblems,
  policyFromForm,
  quietSummary,
  samePolicy,
  type FieldProblem,
  type PolicyForm,
} from './PolicyModel'
import './channels.css'
import './policy.css'

/** The time zones the browser knows, offered as suggestions (the server decides). */
function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] }
  try {
    return intl.supportedValuesOf?.('timeZone') ?? []
  } catch {
    return []
  }
}

export function PolicyPage() {
  const [saved, setSaved] = useState<PolicyForm | null>(null)
  const [form, setForm] = useState<PolicyForm>(emptyForm)
  const [loadError, setLoadError] = useState('')
  const [saveError, setSaveError] = useState('')
  const [tried, setTried] = useState(false)
  const [busy, setBusy] = useState(false)
  const [note, setNote] = useState('')
  const [topic, setTopic] = useState('')
  const [zones] = useState(timeZones)

  useEffect(() => {
    api.getPolicy().then(
      (policy) => {
        const loaded = formFromPolicy(policy)
        setSaved(loaded)
        setForm(loaded)
      },
      (failure: unknown) => setLoadError(errorText(failure, 'Could not load the delivery rules.')),
    )
  }, [])

  const problems = formProblems(form)
  const shown = tried ? problems : []
  const problemOf = (field: string): FieldProblem | undefined => shown.find((p) => p.field === field)
  const changed = saved !== null && !samePolicy(saved, form)

  function edit(change: (current: PolicyForm) => PolicyForm) {
    setForm(change)
    setNote('')
    setSaveError('')
  }

  function setCap(channel: string, period: 'day' | 'week', value: string) {
    edit((current) => ({ ...current, caps: { ...current.caps, [channel]: { ...current.caps[channel], [period]: value } } }))
  }

  function setQuiet(change: Partial<PolicyForm['quiet']>) {
    edit((current) => ({ ...current, quiet: { ...current.quiet, ...change } }))
  }

  function addTopic(event: { preventDefault: () => void }) {
    event.preventDefault()
    const text = topic.trim()
    if (!text) return
    if (!form.topics.includes(text)) edit((current) => ({ ...current, topics: [...current.topics, text] }))
    setTopic('')
  }

  async function save(event: FormEvent) {
    event.preventDefault()
    setTried(true)
    setNote('')
    setSaveError('')
    if (problems.length > 0) return
    setBusy(true)
    try {
      const answer = formFromPolicy(await api.savePolicy(policyFromForm(form)))
      setSaved(answer)
      setForm(answer)
      setTried(false)
      setNote('Saved')
    } catch (failure) {
      setSaveError(errorText(failure, 'Could not save the delivery rules.'))
    } finally {
      setBusy(false)
    }
  }

  const fieldProps = (id: string) => {
    const problem = problemOf(id)
    return {
      id,
      'aria-invalid': problem ? true : undefined,
      'aria-describedby': problem ? `${id}-problem` : undefined,
    }
  }
  const problemText = (id: string) => {
    const problem = problemOf(id)
    return problem ? (
      <span className="field-problem" id={`${id}-problem`}>
        {problem.message}
      </span>
    ) : null
  }

  return (
    <main className="page policy-page">
      <div className="page-head">
        <h1>Delivery rules</h1>
      </div>
      <p className="help">
        Every message a flow sends passes these rules first. A message they hold back waits or is not sent, and the
        contact's timeline says why. Addresses that must get nothing at all are on the{' '}
        <Link to="/settings/suppressions">suppression list</Link>.
      </p>
      {loadError && (
        <p className="error-box" role="alert">
          {loadError}
        </p>
      )}
      {saved === null && !loadError && <p role="status">Loading the delivery rules…</p>}
      {saved !== null && (
        <form onSubmit={(event) => void save(event)} noValidate>
          <section className="card policy-card" aria-labelledby="caps-title">
            <h2 id="caps-title">Frequency caps</h2>
            <p className="help">
              The most marketing messages one contact gets on a channel, counting every flow: per day is any 24 hours,
              per week any 7 days. Leave a box empty for no cap.
            </p>
            <table className="caps-table">
              <thead>
                <tr>
                  <th scope="col">Channel</th>
                  <th scope="col">Most per day</th>
                  <th scope="col">Most per week</th>
                </tr>
              </thead>
              <tbody>
                {Object.keys(form.caps).map((channel) => (
                  <tr key={channel}>
                    <th scope="row">{channelName(channel)}</th>
                    {(['day', 'week'] as const).map((period) => {
                      const id = capFieldId(channel, period)
                      return (
                        <td key={period}>
                          <input
                            {...fieldProps(id)}
                            type="text"
                            inputMode="numeric"
                            className="cap-input"
                            aria-label={capLabel(channel, period)}
                            placeholder="No cap"
                            value={form.caps[channel][period]}
                            onChange={(event) => setCap(channel, period, event.target.value)}
                          />
                          {problemText(id)}
                        </td>
                      )
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          <section className="card policy-card" aria-labelledby="topics-title">
            <h2 id="topics-title">Transactional topics</h2>
            <p className="help">
              Messages on these topics (set on a send step) are ones people expect, like receipts or password resets:
              they skip the caps and quiet hours, but consent and the suppression list still apply.
            </p>
            {form.topics.length === 0 ? (
              <p className="muted">No transactional topics: every message counts towards the caps.</p>
            ) : (
              <ul className="topic-list" aria-label="Transactional topics">
                {form.topics.map((name) => (
                  <li key={name}>
                    <span className="mono">{name}</span>
                    <button
                      type="button"
                      className="link danger"
                      aria-label={`Remove the topic ${name}`}
                      onClick={() => edit((current) => ({ ...current, topics: current.topics.filter((t) => t !== name) }))}
                    >
                      Remove
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <div className="topic-add">
              <label className="field">
                <span>New topic</span>
                <input
                  type="text"
                  value={topic}
                  placeholder="e.g. receipts"
                  onChange={(event) => setTopic(event.target.value)}
                  onKeyDown={(event) => {
                    if (event.key === 'Enter') addTopic(event)
                  }}
                />
              </label>
              <button type="button" onClick={addTopic} disabled={!topic.trim()}>
                Add topic
              </button>
            </div>
          </section>

          <section className="card policy-card" aria-labelledby="quiet-title">
            <h2 id="quiet-title">Quiet hours</h2>
            <label className="check">
              <input
                type="checkbox"
                checked={form.quiet.on}
                onChange={(event) =>
                  setQuiet(
                    event.target.checked
                      ? {
                          on: true,
                          start: form.quiet.start || DEFAULT_QUIET.start,
                          end: form.quiet.end || DEFAULT_QUIET.end,
                        }
                      : { on: false },
                  )
                }
              />
              Hold messages during quiet hours
            </label>
            {form.quiet.on && (
              <div className="quiet-fields">
                <label className="field" htmlFor="quiet-start">
                  <span>From</span>
                  <input
                    {...fieldProps('quiet-start')}
                    type="time"
                    value={form.quiet.start}
                    onChange={(event) => setQuiet({ start: event.target.value })}
                  />
                  {problemText('quiet-start')}
                </label>
                <label className="field" htmlFor="quiet-end">
                  <span>Until</span>
                  <input
                    {...fieldProps('quiet-end')}
                    type="time"
                    value={form.quiet.end}
                    onChange={(event) => setQuiet({ end: event.target.value })}
                  />
                  {problemText('quiet-end')}
                </label>
                <label className="field grow" htmlFor="quiet-timezone">
                  <span>Time zone for contacts without one</span>
                  <input
                    id="quiet-timezone"
                    type="text"
                    list="policy-time-zones"
                    value={form.quiet.timezone}
                    placeholder="The flow's time zone"
                    autoComplete="off"
                    spellCheck={false}
                    onChange={(event) => setQuiet({ timezone: event.target.value })}
                  />
                  <datalist id="policy-time-zones">
                    {zones.map((zone) => (
                      <option key={zone} value={zone} />
                    ))}
                  </datalist>
                </label>
              </div>
            )}
            <p className="help" data-testid="quiet-summary">
              {quietSummary(form.quiet)} Transactional messages are never held.
            </p>
          </section>

          {shown.length > 0 && (
            <div className="error-box" role="alert">
              <p className="policy-problems-head">Fix these first:</p>
              <ul>
                {shown.map((problem) => (
                  <li key={`${problem.field}:${problem.message}`}>
                    <a
                      href={`#${problem.field}`}
                      onClick={(event) => {
                        event.preventDefault()
                        document.getElementById(problem.field)?.focus()
                      }}
                    >
                      {problem.message}
                    </a>
                  </li>
                ))}
              </ul>
            </div>
          )}
          {saveError && (
            <p className="error-box" role="alert">
              {saveError}
            </p>
          )}
          <div className="button-row policy-actions">
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save'}
            </button>
            {changed && (
              <button type="button" disabled={busy} onClick={() => edit((current) => saved ?? current)}>
                Undo changes
              </button>
            )}
            <span className="muted" role="status" aria-label="Save state">
              {note === 'Saved' ? <span className="notice policy-saved">Saved</span> : changed ? 'Unsaved changes' : ''}
            </span>
          </div>
        </form>
      )}
    </main>
  )
}

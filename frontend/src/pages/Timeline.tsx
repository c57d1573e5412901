// A contact's timeline: events, flow runs with their paths, and messages, newest first. A message
// that did not go out says why, in plain words and in red: this is where a marketer answers "why
// didn't this contact get the message?".
import { useState } from 'react'
import { Link } from 'react-router'
import type { ContactDetail, MessageRow, TimelineEvent, TimelineRun, TimelineSegmentChange } from '../api/types'
import { channelName } from '../lib/channels'
import { valueText } from '../lib/contact'
import { utcTime } from '../lib/format'
import {
  isRefusal,
  mergeTimeline,
  MESSAGE_STATUS_WORDS,
  nodeName,
  reasonWords,
  RUN_STATUS_WORDS,
  runProblems,
  stepWords,
  type FlowNodes,
  type TimelineEntry,
} from '../lib/timeline'

type Show = 'all' | TimelineEntry['kind']
const SHOW: Array<[Show, string]> = [
  ['all', 'Everything'],
  ['event', 'Events'],
  ['run', 'Flow runs'],
  ['message', 'Messages'],
  ['segment', 'Segments'],
]

/** `flows`: the nodes of each flow by flow id, when loaded (labels and channels in the paths). */
export function Timeline({ contact, flows = {} }: { contact: ContactDetail; flows?: Record<number, FlowNodes> }) {
  const [show, setShow] = useState<Show>('all')
  const entries = mergeTimeline(contact.timeline).filter((entry) => show === 'all' || entry.kind === show)
  // Messages name their flow by id only; the contact's runs carry the names.
  const flowNames = new Map((contact.timeline?.runs ?? []).map((run) => [run.flow.id, run.flow.name]))
  return (
    <section className="card timeline" aria-labelledby="timeline-title">
      <div className="page-head">
        <h2 id="timeline-title">Timeline</h2>
        <span className="spacer" />
        <div className="button-group" role="group" aria-label="Show in the timeline">
          {SHOW.map(([value, label]) => (
            <button key={value} type="button" className="small" aria-pressed={show === value} onClick={() => setShow(value)}>
              {label}
            </button>
          ))}
        </div>
      </div>
      {entries.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <ol className="timeline-list" aria-label="Timeline, newest first">
          {entries.map((entry) => (
            <li key={`${entry.kind}-${key(entry)}`} className={`tl tl-${entry.kind}`}>
              <time className="tl-time muted" dateTime={entry.at}>
                {utcTime(entry.at)}
              </time>
              <div className="tl-body">
                {entry.kind === 'event' && <EventEntry event={entry.event} />}
                {entry.kind === 'run' && <RunEntry run={entry.run} nodes={flows[entry.run.flow.id] ?? {}} />}
                {entry.kind === 'message' && (
                  <MessageEntry message={entry.message} flowNames={flowNames} nodes={flows[entry.message.flow ?? -1] ?? {}} />
                )}
                {entry.kind === 'segment' && <SegmentEntry change={entry.change} />}
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}

function key(entry: TimelineEntry): string {
  if (entry.kind === 'event') return `${entry.event.id ?? ''}-${entry.event.name}-${entry.at}`
  if (entry.kind === 'run') return String(entry.run.id)
  if (entry.kind === 'segment') return `${entry.change.key}-${entry.change.kind}-${entry.at}`
  return String(entry.message.id)
}

function EventEntry({ event }: { event: TimelineEvent }) {
  const properties = Object.entries(event.properties ?? {})
  return (
    <>
      <span className="tl-kind">Event</span> <strong>{event.name}</strong>
      {properties.length > 0 && (
        <span className="muted"> · {properties.map(([name, value]) => `${name}: ${valueText(value)}`).join(', ')}</span>
      )}
    </>
  )
}

function RunEntry({ run, nodes }: { run: TimelineRun; nodes: FlowNodes }) {
  const problems = runProblems(run, nodes)
  const status = RUN_STATUS_WORDS[run.status] ?? run.status
  return (
    <>
      <span className="tl-kind">Flow</span> <Link to={`/flows/${run.flow.id}`}>{run.flow.name}</Link>{' '}
      <span className={`run-status run-${run.status}`}>{status}</span>
      {run.reason && <span className="muted"> ({run.reason.replace(/_/g, ' ')})</span>}
      {run.waiting_until && run.status === 'waiting' && <span className="muted"> · wakes {utcTime(run.waiting_until)}</span>}
      {run.awaiting && <span className="muted"> · waiting for the event {run.awaiting}</span>}
      {problems.map((problem, index) => (
        <p key={index} className="refusal">
          {problem}
        </p>
      ))}
      {run.path.length > 0 && (
        <details className="tl-path">
          <summary>Path: {run.path.length} step{run.path.length === 1 ? '' : 's'}</summary>
          <ol className="path">
            {run.path.map((step, index) => {
              const words = stepWords(run.path, index, nodes)
              return (
                <li key={index}>
                  <span className="mono">{words.text}</span> <span className="muted">{utcTime(step.at)}</span>
                  {words.problem && <span className="refusal-inline"> {words.problem}</span>}
                </li>
              )
            })}
          </ol>
        </details>
      )}
    </>
  )
}

function MessageEntry({ message, flowNames, nodes }: { message: MessageRow; flowNames: Map<number, string>; nodes: FlowNodes }) {
  const refused = isRefusal(message.status)
  const flowName = message.flow !== null ? flowNames.get(message.flow) : undefined
  return (
    <>
      <span className="tl-kind">Message</span> <strong>{channelName(message.channel)}</strong>
      {message.to && <span className="muted"> to {message.to}</span>}{' '}
      <span className={`msg-status msg-${message.status}`}>{MESSAGE_STATUS_WORDS[message.status] ?? message.status}</span>
      {message.topic && <span className="muted"> · topic {message.topic}</span>}
      {flowName && message.flow !== null && (
        <span className="muted">
          {' '}
          · from <Link to={`/flows/${message.flow}`}>{flowName}</Link>
          {message.node && `, step "${nodeName(message.node, nodes)}"`}
        </span>
      )}
      {refused && (
        <p className="refusal">
          {message.status === 'refused' ? 'Not sent' : 'Not delivered'}: {reasonWords(message.reason, message.channel)}.
        </p>
      )}
    </>
  )
}

function SegmentEntry({ change }: { change: TimelineSegmentChange }) {
  const verb = change.kind === 'entered' ? 'Joined' : change.kind === 'exited' ? 'Left' : change.kind
  return (
    <>
      <span className="tl-kind">Segment</span> {verb}{' '}
      <Link to={`/segments/${encodeURIComponent(change.key)}`}>{change.name || change.key}</Link>
      {change.reason && <span className="muted"> · {change.reason}</span>}
    </>
  )
}

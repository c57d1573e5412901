// A contact's history as one list, newest first, and the reasons behind a message that did not
// go out, in the words a marketer uses ("why didn't Anna get the message?").
import type { ContactDetail, MessageRow, PathStep, TimelineEvent, TimelineRun, TimelineSegmentChange } from '../api/types'
import { channelName, CHANNELS } from './channels'

export type TimelineEntry =
  | { kind: 'event'; at: string; event: TimelineEvent }
  | { kind: 'run'; at: string; run: TimelineRun }
  | { kind: 'message'; at: string; message: MessageRow }
  | { kind: 'segment'; at: string; change: TimelineSegmentChange }

// Among entries at the same instant, the consequence comes first in a newest-first list: an
// event moves the contact into a segment and starts a run, which writes a message.
const RANK: Record<TimelineEntry['kind'], number> = { message: 0, run: 1, segment: 2, event: 3 }

function time(iso: string): number {
  const value = Date.parse(iso)
  return Number.isNaN(value) ? 0 : value
}

/** Events, flow runs and messages merged, newest first. */
export function mergeTimeline(timeline: ContactDetail['timeline'] | undefined): TimelineEntry[] {
  if (!timeline) return []
  const entries: TimelineEntry[] = [
    ...(timeline.events ?? []).map((event): TimelineEntry => ({ kind: 'event', at: event.at, event })),
    ...(timeline.runs ?? []).map((run): TimelineEntry => ({ kind: 'run', at: run.started_at, run })),
    ...(timeline.messages ?? []).map((message): TimelineEntry => ({ kind: 'message', at: message.created_at, message })),
    ...(timeline.segments ?? []).map((change): TimelineEntry => ({ kind: 'segment', at: change.at, change })),
  ]
  return entries.sort((a, b) => time(b.at) - time(a.at) || RANK[a.kind] - RANK[b.kind])
}

const ADDRESS: Record<string, string> = {
  email: 'email address',
  sms: 'phone number',
  voice: 'phone number',
  push: 'push token (no app installed)',
  chat: 'chat app account',
}

/**
 * Why a message was not sent, in plain words. `channel` names the channel when known; unknown
 * codes (the delivery policy adds its own) are shown with their underscores as spaces.
 */
export function reasonWords(reason: string | null | undefined, channel?: string | null): string {
  if (!reason) return 'no reason was recorded'
  const on = channel && channel !== 'chosen' ? channelName(channel) : 'this channel'
  switch (reason) {
    case 'opted_out':
      return `the contact has opted out of ${on}`
    case 'no_address':
      return `the contact has no ${channel ? (ADDRESS[channel] ?? 'address') : 'address'} for ${on}`
    case 'no_channel_chosen':
      return 'no channel was left to pick: Channel choice found none the contact can receive'
    case 'no_content':
      return `the message has no content written for ${on}`
    case 'render_error':
      return 'the message template could not be filled in for this contact'
    case 'topic_opted_out':
    case 'topic_opt_out':
      return 'the contact has opted out of this topic'
    case 'quiet_hours':
      return 'it was during the quiet hours'
    case 'capped':
      return `the contact already got as many marketing messages on ${on} as the frequency caps allow (Delivery rules)`
    case 'suppressed':
      return `the address is on the suppression list for ${on} (a hard bounce, a complaint or added by hand)`
    default:
      return reason.replace(/_/g, ' ')
  }
}

export function isRefusal(status: string): boolean {
  return status === 'refused' || status === 'failed'
}

export const MESSAGE_STATUS_WORDS: Record<string, string> = {
  queued: 'Waiting to be sent',
  sent: 'Sent',
  delivered: 'Delivered',
  opened: 'Opened',
  clicked: 'Clicked',
  failed: 'Not delivered',
  refused: 'Not sent',
}

export const RUN_STATUS_WORDS: Record<string, string> = {
  waiting: 'In progress',
  active: 'In progress',
  sending: 'In progress',
  completed: 'Completed',
  exited: 'Exited',
  failed: 'Failed',
  cancelled: 'Cancelled',
}

/** What the flow document says about a node: shown instead of its bare id. */
export interface NodeInfo {
  label?: string
  type?: string
  channel?: string
}

export type FlowNodes = Record<string, NodeInfo>

/** The nodes of a flow document by id, with their labels and send channels. */
export function flowNodes(document: { nodes?: Array<{ id: string; type: string; label?: string; config?: Record<string, unknown> }> }): FlowNodes {
  const nodes: FlowNodes = {}
  for (const node of document.nodes ?? []) {
    const channel = node.config?.channel
    nodes[node.id] = { label: node.label, type: node.type, channel: typeof channel === 'string' ? channel : undefined }
  }
  return nodes
}

function isChannelName(value: unknown): value is string {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value)
}

/**
 * The channel a step of a path tried: named by the step, else by the send's config, else (for
 * "chosen") the channel the last Channel choice before it picked.
 */
function stepChannel(path: PathStep[], index: number, nodes: FlowNodes): string | null {
  const step = path[index]
  if (isChannelName(step.channel)) return step.channel
  const configured = nodes[step.node]?.channel
  if (isChannelName(configured)) return configured
  if (configured === 'chosen') {
    for (let i = index - 1; i >= 0; i--) {
      if (isChannelName(path[i].port)) return path[i].port as string
    }
  }
  return null
}

export function nodeName(id: string, nodes: FlowNodes): string {
  const label = nodes[id]?.label
  return label ? `${label}` : id
}

/** Step `index` of a path in words: "pick → sms (skipped Push notification: ...)", and what went wrong. */
export function stepWords(path: PathStep[], index: number, nodes: FlowNodes = {}): { text: string; problem: string | null } {
  const step = path[index]
  const port = step.port ? ` → ${step.port}` : ''
  const skipped = step.reasons
    ? Object.entries(step.reasons).map(([channel, reason]) => `${channelName(channel)}: ${reasonWords(reason, channel)}`)
    : []
  const text = `${nodeName(step.node, nodes)}${port}${skipped.length ? ` (skipped ${skipped.join('; ')})` : ''}`
  // A send that leaves by `failed` is where a message did not go out: say why.
  const problem = step.port === 'failed'
    ? `Not sent at "${nodeName(step.node, nodes)}": ${reasonWords(typeof step.reason === 'string' ? step.reason : null, stepChannel(path, index, nodes))}`
    : null
  return { text, problem }
}

/** The steps of a run that stopped a message, in words (shown on the run's summary line). */
export function runProblems(run: TimelineRun, nodes: FlowNodes = {}): string[] {
  return run.path.map((_, index) => stepWords(run.path, index, nodes).problem).filter((p): p is string => p !== null)
}

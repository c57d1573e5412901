// The shapes the API answers with (see /work/shared/DESIGN.md and backend/api/*.py).

export type FlowStatus = 'draft' | 'live' | 'paused'

export interface Problem {
  message: string
  node?: string
  edge?: string
}

export interface Position {
  x: number
  y: number
}

export type Config = Record<string, unknown>

export interface DocNode {
  id: string
  type: string
  config: Config
  position?: Position
  label?: string
  [key: string]: unknown
}

export interface DocEdge {
  from: string
  to: string
  port?: string
  [key: string]: unknown
}

export interface FlowSettings {
  entry?: 'once' | 'single_active' | 'always'
  timezone?: string
  [key: string]: unknown
}

export interface FlowDocument {
  format: string
  name: string
  description?: string
  settings?: FlowSettings
  nodes: DocNode[]
  edges: DocEdge[]
  [key: string]: unknown
}

export type RunCounts = Record<string, number>

export interface FlowSummary {
  id: number
  name: string
  status: FlowStatus
  updated_at: string
  runs: RunCounts
}

export interface FlowVersion {
  number: number
  content_hash: string
  published_at: string
}

export interface FlowDetail {
  id: number
  name: string
  description: string
  status: FlowStatus
  created_at: string
  updated_at: string
  document: FlowDocument
  problems: Problem[]
  version: FlowVersion | null
  runs: RunCounts
}

export interface Page<T> {
  items: T[]
  next: string | null
}

// A JSON Schema as msgspec writes it: `$ref` / `$defs`, `anyOf` with null for optional fields.
export interface JsonSchema {
  $ref?: string
  $defs?: Record<string, JsonSchema>
  title?: string
  description?: string
  type?: string | string[]
  enum?: unknown[]
  anyOf?: JsonSchema[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  default?: unknown
  examples?: unknown[]
  minimum?: number
  maximum?: number
  additionalProperties?: boolean | JsonSchema
}

export interface NodeType {
  type: string
  label: string
  description: string
  ports: string[]
  ports_from: string | null
  is_trigger: boolean
  schema: JsonSchema
}

export interface NodeCount {
  entered: number
  ports: Record<string, number>
}

export interface PathStep {
  node: string
  at: string
  port?: string
  reason?: string
  reasons?: Record<string, string>
  left?: string
  [key: string]: unknown
}

export interface SimMessage {
  node: string
  channel: string
  to: string
  at: string
  content: Record<string, string>
  topic?: string
}

export interface SimRun {
  contact: string
  status: 'completed' | 'exited' | 'waiting' | string
  reason?: string
  path: PathStep[]
  messages: SimMessage[]
  [key: string]: unknown
}

export interface SimReport {
  nodes: Record<string, NodeCount>
  runs: SimRun[]
  messages: Record<string, number>
}

export interface FlowStats {
  nodes: Record<string, NodeCount>
  runs: RunCounts
}

export interface Contact {
  id: string
  email?: string | null
  phone?: string | null
  push_tokens?: string[]
  chat?: Record<string, string>
  attributes?: Record<string, unknown>
  consent?: Record<string, string>
  preferences?: Record<string, string>
  timezone?: string | null
  [key: string]: unknown
}

export interface Me {
  workspace: number
  user: { id: number; email: string } | null
  api_key: unknown
}

// ---- contacts, segments, import (issue 5) ----

/** A contact as GET /api/contacts lists it: the contact shape, with times when the API has them. */
export interface ContactRow extends Contact {
  created_at?: string
  updated_at?: string
  consent_changed?: Record<string, string>
}

export interface TimelineEvent {
  id: string | null
  name: string
  at: string
  received_at?: string | null
  properties: Record<string, unknown> | null
}

export interface TimelineRun {
  id: number
  flow: { id: number; name: string }
  status: string
  node: string | null
  started_at: string
  updated_at: string
  waiting_until: string | null
  awaiting: string | null
  reason: string | null
  path: PathStep[]
}

export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'failed' | 'refused' | 'opened' | 'clicked'

export interface MessageRow {
  id: number
  contact: string
  flow: number | null
  node: string | null
  channel: string
  to: string | null
  topic: string | null
  content: Record<string, unknown> | null
  status: MessageStatus | string
  reason: string | null
  created_at: string
  updated_at: string
}

export interface Membership {
  key: string
  name: string
  since: string | null
  reason?: string | null
}

/** A segment entry or exit in a contact's timeline. */
export interface TimelineSegmentChange {
  key: string
  name: string
  kind: 'entered' | 'exited' | string
  at: string
  reason: string | null
}

export interface ContactDetail extends ContactRow {
  timeline: { events: TimelineEvent[]; runs: TimelineRun[]; messages: MessageRow[]; segments?: TimelineSegmentChange[] }
  segments?: Membership[]
}

export interface Segment {
  key: string
  name: string
  rule: unknown
  count?: number | null
  created_at?: string
  updated_at?: string
  dependencies?: unknown
}

export interface SegmentMember {
  contact: ContactRow
  since: string | null
  reason?: string | null
}

export interface SegmentPreview {
  count: number
  sample: ContactRow[]
}

export interface ImportError {
  line: number
  id?: string | null
  reason: string
}

export interface ImportReport {
  imported: number
  created: number
  updated: number
  refused: number
  errors: ImportError[]
  errors_truncated?: boolean
}

/** One channel in Settings -> Channels: the provider in force and where it comes from. */
export interface ChannelSetting {
  channel: string
  provider: string | null
  source: 'environment' | 'workspace' | 'default'
  env_var: string
  stored: boolean // a workspace setting is saved (the environment may override it)
  redacted_url?: string // secrets masked
  settings: Record<string, unknown> // the provider's parameters, without secrets
  problem?: string
  note?: string
}

/** What the provider said to "Send a test message". */
export interface ChannelTestResult {
  channel: string
  provider: string
  source: string
  to: string
  status: 'accepted' | 'failed' | 'transient'
  provider_id?: string
  error?: string
}

/** A frequency cap on one channel: at most `day` messages in any 24 hours, `week` in any 7 days. */
export interface DeliveryCap {
  day?: number
  week?: number
}

/** Quiet hours, local time of each contact; `timezone` is for contacts without one. */
export interface QuietHours {
  start: string
  end: string
  timezone?: string | null
}

/** The workspace's delivery policy (`GET/PUT /api/settings/policy`, docs/policy.md). */
export interface DeliveryPolicy {
  caps: Partial<Record<string, DeliveryCap>>
  transactional_topics: string[]
  quiet_hours: QuietHours | null
}

/** An address that gets nothing on its channel (`/api/suppressions`). */
export interface Suppression {
  channel: string
  address: string
  reason: string
  created_at: string
}

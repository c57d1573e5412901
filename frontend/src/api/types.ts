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

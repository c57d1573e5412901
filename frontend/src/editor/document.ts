// The flow document <-> the canvas. Node ids are canvas node ids; port names are handle ids.
// Keys the editor does not know are carried through untouched, so a save never drops them.
import type { Edge, Node } from '@xyflow/react'
import type { Config, DocEdge, DocNode, FlowDocument, NodeType, Problem } from '../api/types'
import { portsFor } from '../lib/nodes'

export type NodeData = {
  type: string
  config: Config
  label?: string
  extra: Record<string, unknown>
}
export type FlowNode = Node<NodeData, 'flow'>

export type EdgeData = {
  port: string
  // The document named the port; new edges always do. Kept so that a document without the
  // port (allowed for single-port nodes) is saved as it came.
  explicitPort: boolean
  extra: Record<string, unknown>
}
export type FlowEdge = Edge<EdgeData>

export interface Meta {
  name: string
  description: string
  settings: Record<string, unknown> | undefined
  extra: Record<string, unknown>
}

export const FORMAT = 'castflow.flow/1'

export function edgeId(from: string, port: string, to: string): string {
  return `${from}.${port}->${to}`
}

/** How the server names an edge in problems: `gate.maybe -> s`, or `a -> b` without a port. */
export function edgeKeys(edge: FlowEdge): string[] {
  const port = edge.data?.port ?? edge.sourceHandle ?? ''
  const keys = [`${edge.source}.${port} -> ${edge.target}`]
  if (!edge.data?.explicitPort) keys.push(`${edge.source} -> ${edge.target}`)
  return keys
}

/** "wait_purchase" -> "Wait purchase"; a node's name when it has no label. */
export function displayName(id: string, label: string | undefined): string {
  if (label && label.trim()) return label.trim()
  const words = id.replace(/[_-]+/g, ' ').trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

export function nodeAriaLabel(id: string, type: string, label: string | undefined, kinds: Record<string, NodeType>): string {
  const name = displayName(id, label)
  const kind = kinds[type]?.label ?? type
  return name.toLowerCase() === kind.toLowerCase() ? name : `${name} (${kind})`
}

function splitKnown<T extends object>(value: T, known: string[]): [Record<string, unknown>, Record<string, unknown>] {
  const own: Record<string, unknown> = {}
  const extra: Record<string, unknown> = {}
  for (const [key, entry] of Object.entries(value)) {
    if (known.includes(key)) own[key] = entry
    else extra[key] = entry
  }
  return [own, extra]
}

export function makeNode(
  doc: DocNode,
  kinds: Record<string, NodeType>,
  position: { x: number; y: number },
): FlowNode {
  const [, extra] = splitKnown(doc, ['id', 'type', 'config', 'position', 'label'])
  const config = doc.config && typeof doc.config === 'object' ? doc.config : {}
  return {
    id: String(doc.id),
    type: 'flow',
    position,
    ariaLabel: nodeAriaLabel(String(doc.id), String(doc.type), doc.label, kinds),
    data: { type: String(doc.type), config, label: doc.label, extra },
  }
}

export function makeEdge(from: string, port: string, to: string, explicitPort = true, extra: Record<string, unknown> = {}): FlowEdge {
  return {
    id: edgeId(from, port, to),
    source: from,
    sourceHandle: port,
    target: to,
    targetHandle: 'in',
    ariaLabel: `Connection from ${from} (${port}) to ${to}`,
    data: { port, explicitPort, extra },
  }
}

export interface Loaded {
  meta: Meta
  nodes: FlowNode[]
  edges: FlowEdge[]
  // Nodes without a position are laid out by the caller.
  missingPositions: boolean
}

export function fromDocument(document: FlowDocument, kinds: Record<string, NodeType>): Loaded {
  const [own, extra] = splitKnown(document, ['format', 'name', 'description', 'settings', 'nodes', 'edges'])
  const meta: Meta = {
    name: typeof own.name === 'string' ? own.name : 'Untitled flow',
    description: typeof own.description === 'string' ? own.description : '',
    settings: own.settings as Record<string, unknown> | undefined,
    extra,
  }
  let missingPositions = false
  const docNodes = Array.isArray(document.nodes) ? document.nodes : []
  const nodes = docNodes
    .filter((node) => node && typeof node === 'object' && node.id !== undefined)
    .map((node, index) => {
      const position = node.position
      if (!position || typeof position.x !== 'number' || typeof position.y !== 'number') {
        missingPositions = true
        return makeNode(node, kinds, { x: 0, y: index * 140 })
      }
      return makeNode(node, kinds, { x: position.x, y: position.y })
    })
  const byId = new Map(nodes.map((node) => [node.id, node]))
  const edges: FlowEdge[] = []
  const docEdges = Array.isArray(document.edges) ? document.edges : []
  for (const edge of docEdges) {
    if (!edge || typeof edge !== 'object') continue
    const [, extraKeys] = splitKnown(edge, ['from', 'to', 'port'])
    let port = edge.port
    const explicit = typeof port === 'string'
    if (!explicit) {
      const source = byId.get(String(edge.from))
      const ports = source ? portsFor(kinds[source.data.type], source.data.config) : []
      port = ports[0] ?? 'next'
    }
    edges.push(makeEdge(String(edge.from), String(port), String(edge.to), explicit, extraKeys))
  }
  return { meta, nodes, edges, missingPositions }
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}

export function toDocument(meta: Meta, nodes: FlowNode[], edges: FlowEdge[]): FlowDocument {
  const document: FlowDocument = {
    format: FORMAT,
    name: meta.name,
    ...(meta.description ? { description: meta.description } : {}),
    ...(meta.settings ? { settings: meta.settings } : {}),
    nodes: nodes.map((node) => {
      const out: DocNode = {
        id: node.id,
        type: node.data.type,
        config: node.data.config,
        position: { x: round(node.position.x), y: round(node.position.y) },
      }
      if (node.data.label) out.label = node.data.label
      return { ...out, ...node.data.extra }
    }),
    edges: edges.map((edge) => {
      const out: DocEdge = { from: edge.source, to: edge.target }
      if (edge.data?.explicitPort !== false) out.port = edge.data?.port ?? edge.sourceHandle ?? undefined
      return { ...out, ...(edge.data?.extra ?? {}) }
    }),
    ...meta.extra,
  }
  return document
}

export interface ProblemIndex {
  byNode: Record<string, string[]>
  byEdge: Record<string, string[]>
  general: Problem[]
}

export function indexProblems(problems: Problem[], edges: FlowEdge[]): ProblemIndex {
  const byNode: Record<string, string[]> = {}
  const byEdge: Record<string, string[]> = {}
  const general: Problem[] = []
  const edgeByKey = new Map<string, string>()
  for (const edge of edges) for (const key of edgeKeys(edge)) edgeByKey.set(key, edge.id)
  for (const problem of problems) {
    if (problem.node) {
      ;(byNode[problem.node] ??= []).push(sentence(problem.message))
    } else if (problem.edge && edgeByKey.has(problem.edge)) {
      ;(byEdge[edgeByKey.get(problem.edge)!] ??= []).push(sentence(problem.message))
    } else {
      general.push(problem)
    }
  }
  return { byNode, byEdge, general }
}

/** "a wait needs..." -> "A wait needs..." */
export function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1)
}

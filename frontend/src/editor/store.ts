// The editor's state: the flow being edited, its problems, save state, undo history, and what is
// drawn over the canvas (dry-run or live counts, a contact's path).
import {
  applyEdgeChanges,
  applyNodeChanges,
  type Connection,
  type EdgeChange,
  type NodeChange,
} from '@xyflow/react'
import { create } from 'zustand'
import type {
  Config,
  Contact,
  SimReport,
  FlowDetail,
  FlowStatus,
  FlowVersion,
  NodeCount,
  NodeType,
  PathStep,
  Problem,
} from '../api/types'
import { autoLayout, NODE_HEIGHT, NODE_WIDTH } from '../lib/layout'
import { defaultConfig, portsFor } from '../lib/nodes'
import {
  fromDocument,
  indexProblems,
  makeEdge,
  makeNode,
  nodeAriaLabel,
  toDocument,
  type FlowEdge,
  type FlowNode,
  type Meta,
  type ProblemIndex,
} from './document'

interface Snapshot {
  meta: Meta
  nodes: FlowNode[]
  edges: FlowEdge[]
}

export type Mode = 'build' | 'dryrun' | 'live'

export interface Highlight {
  contact: string
  steps: Record<string, { index: number; at: string; port?: string; reason?: string }>
  edges: Set<string>
}

const HISTORY_LIMIT = 100
const COALESCE_MS = 1200

export interface EditorState {
  flowId: number | null
  kinds: Record<string, NodeType>
  kindList: NodeType[]
  meta: Meta
  nodes: FlowNode[]
  edges: FlowEdge[]
  status: FlowStatus
  version: FlowVersion | null
  problems: Problem[]
  problemIndex: ProblemIndex
  problemsNote: string | null // e.g. "Not published: ..." above the problem list
  revision: number
  savedRevision: number
  saving: boolean
  saveError: string | null
  past: Snapshot[]
  future: Snapshot[]
  lastCoalesce: { key: string; at: number } | null
  mode: Mode
  counts: Record<string, NodeCount> | null
  highlight: Highlight | null
  contacts: Contact[]
  sampleContactId: string | null
  dryRun: DryRunState

  load: (detail: FlowDetail, kinds: NodeType[]) => void
  onNodesChange: (changes: NodeChange<FlowNode>[]) => void
  onEdgesChange: (changes: EdgeChange<FlowEdge>[]) => void
  beginDrag: () => void
  endDrag: () => void
  connect: (connection: Connection) => void
  addNode: (type: string, position?: { x: number; y: number }) => string
  updateConfig: (id: string, config: Config) => void
  updateLabel: (id: string, label: string) => void
  updateMeta: (patch: Partial<Meta>) => void
  deleteSelection: () => void
  deleteEdge: (id: string) => void
  selectOnly: (id: string | null) => void
  copySelection: () => number
  paste: () => number
  undo: () => void
  redo: () => void
  layout: () => void
  savedAs: (revision: number, detail: FlowDetail) => void
  saveFailed: (message: string) => void
  setSaving: (saving: boolean) => void
  setProblems: (problems: Problem[], note?: string | null) => void
  setStatus: (status: FlowStatus, version?: FlowVersion | null) => void
  setMode: (mode: Mode) => void
  setCounts: (counts: Record<string, NodeCount> | null) => void
  setHighlight: (contact: string | null, path?: PathStep[]) => void
  document: () => ReturnType<typeof toDocument>
  setContacts: (contacts: Contact[]) => void
  setSampleContact: (id: string | null) => void
  updateDryRun: (patch: Partial<DryRunState>) => void
}

export interface ScriptedEvent {
  contact: string
  name: string
  at: string // datetime-local text, UTC
  details: string // "cart_total: 89.9, item_count: 3"
}

export interface DryRunState {
  source: 'database' | 'pasted'
  contactIds: string // comma-separated; empty: every contact in the database
  pasted: string
  events: ScriptedEvent[]
  start: string // datetime-local text, UTC
  horizon: string // ISO duration
  report: SimReport | null
  running: boolean
  error: string
  errorProblems: Problem[]
  selected: number | null // index of the run shown on the canvas
}

export const INITIAL_DRY_RUN: DryRunState = {
  source: 'database',
  contactIds: '',
  pasted: '',
  events: [],
  start: '',
  horizon: 'P30D',
  report: null,
  running: false,
  error: '',
  errorProblems: [],
  selected: null,
}

let clipboard: { nodes: FlowNode[]; edges: FlowEdge[] } | null = null

// React Flow reports one deletion (Delete key) as node and edge changes in the same tick: they
// are one undo step, and the next deletion is another.
let deletion = 0
let deletionOpen = false
function deletionKey(): string {
  if (!deletionOpen) {
    deletionOpen = true
    deletion += 1
    setTimeout(() => (deletionOpen = false), 0)
  }
  return `delete:${deletion}`
}

function uniqueId(base: string, taken: Set<string>): string {
  const clean = base.replace(/[^A-Za-z0-9_-]+/g, '_') || 'node'
  if (!taken.has(clean)) return clean
  for (let n = 2; ; n++) {
    const candidate = `${clean}_${n}`
    if (!taken.has(candidate)) return candidate
  }
}

/** Whether adding source -> target would close a loop (target already leads to source). */
export function wouldLoop(edges: FlowEdge[], source: string, target: string): boolean {
  if (source === target) return true
  const next = new Map<string, string[]>()
  for (const edge of edges) next.set(edge.source, [...(next.get(edge.source) ?? []), edge.target])
  const seen = new Set<string>()
  const stack = [target]
  while (stack.length) {
    const id = stack.pop()!
    if (id === source) return true
    if (seen.has(id)) continue
    seen.add(id)
    stack.push(...(next.get(id) ?? []))
  }
  return false
}

const EMPTY_META: Meta = { name: '', description: '', settings: undefined, extra: {} }

export const useEditor = create<EditorState>()((set, get) => {
  /** Records the current document for undo, then applies `change` as a new revision. */
  function commit(change: (state: EditorState) => Partial<EditorState>, coalesceKey?: string): void {
    const state = get()
    const now = Date.now()
    const coalesce =
      coalesceKey !== undefined &&
      state.lastCoalesce?.key === coalesceKey &&
      now - state.lastCoalesce.at < COALESCE_MS
    const past = coalesce
      ? state.past
      : [...state.past, { meta: state.meta, nodes: state.nodes, edges: state.edges }].slice(-HISTORY_LIMIT)
    const patch = change(state)
    const edges = patch.edges ?? state.edges
    set({
      ...patch,
      past,
      future: [],
      lastCoalesce: coalesceKey !== undefined ? { key: coalesceKey, at: now } : null,
      revision: state.revision + 1,
      problemIndex: indexProblems(state.problems, edges),
    })
  }

  function restore(snapshot: Snapshot): Partial<EditorState> {
    return {
      meta: snapshot.meta,
      nodes: snapshot.nodes,
      edges: snapshot.edges,
      problemIndex: indexProblems(get().problems, snapshot.edges),
      revision: get().revision + 1,
      lastCoalesce: null,
    }
  }

  return {
    flowId: null,
    kinds: {},
    kindList: [],
    meta: EMPTY_META,
    nodes: [],
    edges: [],
    status: 'draft',
    version: null,
    problems: [],
    problemIndex: { byNode: {}, byEdge: {}, general: [] },
    problemsNote: null,
    revision: 0,
    savedRevision: 0,
    saving: false,
    saveError: null,
    past: [],
    future: [],
    lastCoalesce: null,
    mode: 'build',
    counts: null,
    highlight: null,
    contacts: [],
    sampleContactId: null,
    dryRun: INITIAL_DRY_RUN,

    load: (detail, kindList) => {
      const kinds = Object.fromEntries(kindList.map((kind) => [kind.type, kind]))
      const loaded = fromDocument(detail.document, kinds)
      let nodes = loaded.nodes
      if (loaded.missingPositions) {
        const positions = autoLayout(nodes.map((n) => ({ id: n.id })), loaded.edges)
        nodes = nodes.map((node) => ({ ...node, position: positions[node.id] ?? node.position }))
      }
      set({
        flowId: detail.id,
        kinds,
        kindList,
        meta: { ...loaded.meta, name: detail.name },
        nodes,
        edges: loaded.edges,
        status: detail.status,
        version: detail.version,
        problems: detail.problems,
        problemIndex: indexProblems(detail.problems, loaded.edges),
        problemsNote: null,
        revision: 0,
        savedRevision: 0,
        saving: false,
        saveError: null,
        past: [],
        future: [],
        lastCoalesce: null,
        mode: detail.status === 'draft' ? 'build' : 'live',
        counts: null,
        highlight: null,
        dryRun: INITIAL_DRY_RUN,
      })
    },

    onNodesChange: (changes) => {
      const removing = changes.some((change) => change.type === 'remove')
      if (removing) {
        commit((state) => ({ nodes: applyNodeChanges(changes, state.nodes) }), deletionKey())
        return
      }
      set((state) => ({ nodes: applyNodeChanges(changes, state.nodes) }))
    },

    onEdgesChange: (changes) => {
      const removing = changes.some((change) => change.type === 'remove')
      if (removing) {
        commit((state) => ({ edges: applyEdgeChanges(changes, state.edges) }), deletionKey())
        return
      }
      set((state) => ({ edges: applyEdgeChanges(changes, state.edges) }))
    },

    beginDrag: () => {
      const state = get()
      set({
        past: [...state.past, { meta: state.meta, nodes: state.nodes, edges: state.edges }].slice(-HISTORY_LIMIT),
        future: [],
        lastCoalesce: null,
      })
    },

    endDrag: () => set((state) => ({ revision: state.revision + 1 })),

    connect: (connection) => {
      const { source, target } = connection
      const port = connection.sourceHandle
      if (!source || !target || !port) return
      const state = get()
      if (wouldLoop(state.edges, source, target)) return
      const sourceNode = state.nodes.find((node) => node.id === source)
      const targetNode = state.nodes.find((node) => node.id === target)
      if (!sourceNode || !targetNode || state.kinds[targetNode.data.type]?.is_trigger) return
      commit((current) => ({
        // One port leads to one node: a new connection from a port replaces the old one.
        edges: [
          ...current.edges.filter((edge) => !(edge.source === source && edge.sourceHandle === port)),
          makeEdge(source, port, target),
        ],
      }))
    },

    addNode: (type, position) => {
      const state = get()
      const kind = state.kinds[type]
      const taken = new Set(state.nodes.map((node) => node.id))
      const id = uniqueId(type === 'trigger' ? 'start' : type, taken)
      let place = position
      if (!place) {
        // Below the lowest node, or at the origin of an empty canvas.
        const lowest = state.nodes.reduce((max, node) => Math.max(max, node.position.y), -Infinity)
        place = { x: 0, y: Number.isFinite(lowest) ? lowest + NODE_HEIGHT + 60 : 0 }
      }
      const node = makeNode(
        { id, type, config: defaultConfig(type) },
        state.kinds,
        { x: Math.round(place.x), y: Math.round(place.y) },
      )
      node.selected = true
      if (!kind) node.data.config = {}
      commit((current) => ({
        nodes: [...current.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node],
        edges: current.edges.map((e) => (e.selected ? { ...e, selected: false } : e)),
      }))
      return id
    },

    updateConfig: (id, config) => {
      commit((state) => {
        const node = state.nodes.find((n) => n.id === id)
        if (!node) return {}
        const ports = new Set(portsFor(state.kinds[node.data.type], config))
        return {
          nodes: state.nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, config } } : n)),
          // A port that is gone takes its connection with it (undo brings both back).
          edges: state.edges.filter((edge) => edge.source !== id || ports.has(edge.sourceHandle ?? '')),
        }
      }, `config:${id}`)
    },

    updateLabel: (id, label) => {
      commit(
        (state) => ({
          nodes: state.nodes.map((n) =>
            n.id === id
              ? {
                  ...n,
                  ariaLabel: nodeAriaLabel(n.id, n.data.type, label, state.kinds),
                  data: { ...n.data, label: label || undefined },
                }
              : n,
          ),
        }),
        `label:${id}`,
      )
    },

    updateMeta: (patch) => commit((state) => ({ meta: { ...state.meta, ...patch } }), `meta:${Object.keys(patch).join()}`),

    deleteSelection: () => {
      const state = get()
      const nodeIds = new Set(state.nodes.filter((n) => n.selected).map((n) => n.id))
      const hasEdges = state.edges.some((e) => e.selected)
      if (!nodeIds.size && !hasEdges) return
      commit((current) => ({
        nodes: current.nodes.filter((n) => !nodeIds.has(n.id)),
        edges: current.edges.filter((e) => !e.selected && !nodeIds.has(e.source) && !nodeIds.has(e.target)),
      }))
    },

    deleteEdge: (id) => commit((state) => ({ edges: state.edges.filter((e) => e.id !== id) })),

    selectOnly: (id) =>
      set((state) => ({
        nodes: state.nodes.map((n) => (n.selected !== (n.id === id) ? { ...n, selected: n.id === id } : n)),
        edges: state.edges.map((e) => (e.selected ? { ...e, selected: false } : e)),
      })),

    copySelection: () => {
      const state = get()
      const nodes = state.nodes.filter((n) => n.selected)
      const ids = new Set(nodes.map((n) => n.id))
      clipboard = {
        nodes: structuredClone(nodes),
        edges: structuredClone(state.edges.filter((e) => ids.has(e.source) && ids.has(e.target))),
      }
      return nodes.length
    },

    paste: () => {
      if (!clipboard || !clipboard.nodes.length) return 0
      const source = clipboard
      const state = get()
      const taken = new Set(state.nodes.map((n) => n.id))
      const renamed = new Map<string, string>()
      const nodes = source.nodes.map((node) => {
        const id = uniqueId(node.id.replace(/_\d+$/, ''), taken)
        taken.add(id)
        renamed.set(node.id, id)
        const label = node.data.label ? `${node.data.label} (copy)` : undefined
        return {
          ...makeNode(
            { id, type: node.data.type, config: structuredClone(node.data.config), label, ...node.data.extra },
            state.kinds,
            { x: node.position.x + 40, y: node.position.y + 40 },
          ),
          selected: true,
        }
      })
      const edges = source.edges.map((edge) =>
        makeEdge(renamed.get(edge.source)!, edge.data?.port ?? edge.sourceHandle ?? 'next', renamed.get(edge.target)!),
      )
      commit((current) => ({
        nodes: [...current.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...nodes],
        edges: [...current.edges.map((e) => (e.selected ? { ...e, selected: false } : e)), ...edges],
      }))
      // A second paste lands further along.
      clipboard = {
        nodes: source.nodes.map((n) => ({ ...n, position: { x: n.position.x + 40, y: n.position.y + 40 } })),
        edges: source.edges,
      }
      return nodes.length
    },

    undo: () => {
      const state = get()
      const previous = state.past[state.past.length - 1]
      if (!previous) return
      set({
        ...restore(previous),
        past: state.past.slice(0, -1),
        future: [{ meta: state.meta, nodes: state.nodes, edges: state.edges }, ...state.future],
      })
    },

    redo: () => {
      const state = get()
      const next = state.future[0]
      if (!next) return
      set({
        ...restore(next),
        past: [...state.past, { meta: state.meta, nodes: state.nodes, edges: state.edges }],
        future: state.future.slice(1),
      })
    },

    layout: () => {
      commit((state) => {
        const positions = autoLayout(
          state.nodes.map((n) => ({
            id: n.id,
            width: n.measured?.width ?? NODE_WIDTH,
            height: n.measured?.height ?? NODE_HEIGHT,
          })),
          state.edges,
        )
        return { nodes: state.nodes.map((n) => ({ ...n, position: positions[n.id] ?? n.position })) }
      })
    },

    savedAs: (revision, detail) =>
      set((state) => ({
        savedRevision: Math.max(state.savedRevision, revision),
        saving: false,
        saveError: null,
        status: detail.status,
        version: detail.version,
        problems: detail.problems,
        problemsNote: null,
        problemIndex: indexProblems(detail.problems, state.edges),
      })),

    saveFailed: (message) => set({ saving: false, saveError: message }),
    setSaving: (saving) => set({ saving }),

    setProblems: (problems, note = null) =>
      set((state) => ({ problems, problemsNote: note, problemIndex: indexProblems(problems, state.edges) })),

    setStatus: (status, version) =>
      set((state) => ({ status, version: version === undefined ? state.version : version })),

    setMode: (mode) => set({ mode, counts: null, highlight: null }),
    setCounts: (counts) => set({ counts }),

    setHighlight: (contact, path) => {
      if (!contact || !path) {
        set({ highlight: null })
        return
      }
      const steps: Highlight['steps'] = {}
      const edges = new Set<string>()
      path.forEach((step, index) => {
        if (!steps[step.node]) steps[step.node] = { index: index + 1, at: step.at, port: step.port, reason: step.reason }
        const next = path[index + 1]
        if (next && step.port) edges.add(`${step.node}.${step.port}->${next.node}`)
      })
      set({ highlight: { contact, steps, edges } })
    },

    setContacts: (contacts) =>
      set((state) => ({ contacts, sampleContactId: state.sampleContactId ?? contacts[0]?.id ?? null })),
    setSampleContact: (id) => set({ sampleContactId: id }),
    updateDryRun: (patch) => set((state) => ({ dryRun: { ...state.dryRun, ...patch } })),

    document: () => {
      const state = get()
      return toDocument(state.meta, state.nodes, state.edges)
    },
  }
})

export const NODE_SIZE = { width: NODE_WIDTH, height: NODE_HEIGHT }

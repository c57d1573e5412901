// The canvas: nodes, connections, minimap, zoom controls.
import {
  Background,
  Controls,
  MarkerType,
  MiniMap,
  ReactFlow,
  useNodesInitialized,
  useReactFlow,
  type Connection,
  type Edge,
  type FinalConnectionState,
  type IsValidConnection,
} from '@xyflow/react'
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import { displayName, type FlowEdge, type FlowNode } from './document'
import { FlowNodeView } from './FlowNodeView'
import { useEditor, wouldLoop } from './store'

const NODE_TYPES = { flow: FlowNodeView }
const DELETE_KEYS = ['Delete', 'Backspace']
const FIT = { padding: 0.2, maxZoom: 1 }
const ARIA_LABELS = {
  'node.a11yDescription.default': 'Press Enter or Space to select this step; Delete removes it.',
  'node.a11yDescription.keyboardDisabled': 'Press Enter or Space to select this step; arrow keys move it; Delete removes it.',
  'edge.a11yDescription.default': 'Press Enter or Space to select this connection; Delete removes it.',
  'controls.ariaLabel': 'Zoom controls',
  'controls.zoomIn.ariaLabel': 'Zoom in',
  'controls.zoomOut.ariaLabel': 'Zoom out',
  'controls.fitView.ariaLabel': 'Fit the flow on screen',
  'minimap.ariaLabel': 'Minimap of the flow',
}

function minimapColour(node: FlowNode): string {
  const colours: Record<string, string> = {
    trigger: '#16a34a',
    segment_filter: '#7c3aed',
    channel_choice: '#0891b2',
    wait: '#d97706',
    send: '#2563eb',
    split: '#db2777',
    update_contact: '#4b5563',
    exit: '#6b7280',
  }
  return colours[node.data.type] ?? '#9ca3af'
}

/** Roughly the viewport fitView will choose, from positions alone (before measuring). */
function estimateFit(nodes: FlowNode[]): { x: number; y: number; zoom: number } {
  if (!nodes.length) return { x: 0, y: 0, zoom: 1 }
  const width = Math.max(300, window.innerWidth - 168 - 400)
  const height = Math.max(300, window.innerHeight - 150)
  const left = Math.min(...nodes.map((n) => n.position.x))
  const top = Math.min(...nodes.map((n) => n.position.y))
  const right = Math.max(...nodes.map((n) => n.position.x + 240))
  const bottom = Math.max(...nodes.map((n) => n.position.y + 110))
  const zoom = Math.max(0.1, Math.min(1, width / ((right - left) * (1 + 2 * FIT.padding)), height / ((bottom - top) * (1 + 2 * FIT.padding))))
  return { x: width / 2 - ((left + right) / 2) * zoom, y: height / 2 - ((top + bottom) / 2) * zoom, zoom }
}

export function Canvas() {
  const nodes = useEditor((s) => s.nodes)
  const edges = useEditor((s) => s.edges)
  const byEdge = useEditor((s) => s.problemIndex.byEdge)
  const highlight = useEditor((s) => s.highlight)
  const onNodesChange = useEditor((s) => s.onNodesChange)
  const onEdgesChange = useEditor((s) => s.onEdgesChange)
  const connect = useEditor((s) => s.connect)
  const beginDrag = useEditor((s) => s.beginDrag)
  const endDrag = useEditor((s) => s.endDrag)
  // Fit a flow that has steps when it opens; an empty canvas keeps its place, so the first step
  // stays where it was dropped.
  const [fitOnOpen] = useState(() => useEditor.getState().nodes.length > 0)
  // Start close to the fitted view, so a big flow is drawn once at the right level of detail
  // (the exact fit follows when the nodes are measured).
  const [initialViewport] = useState(() => estimateFit(useEditor.getState().nodes))
  const nodesInitialized = useNodesInitialized()
  const { fitView } = useReactFlow()
  const fitted = useRef(false)
  const container = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (fitted.current || (fitOnOpen && !nodesInitialized)) return
    fitted.current = true
    performance.mark('castflow:nodes-measured')
    // data-ready: the canvas shows the whole flow and takes input (tests wait for it).
    const ready = () => container.current?.setAttribute('data-ready', 'true')
    if (fitOnOpen) void fitView(FIT).then(ready)
    else ready()
  }, [fitOnOpen, nodesInitialized, fitView])

  // Node names for the connections' accessible names; unchanged while nodes move.
  const names = useEditor(useShallow((s) => Object.fromEntries(s.nodes.map((n) => [n.id, displayName(n.id, n.data.label)]))))

  const shownEdges = useMemo<FlowEdge[]>(
    () =>
      edges.map((edge) => {
        const label = `Connection from ${names[edge.source] ?? edge.source} by ${edge.data?.port ?? edge.sourceHandle} to ${names[edge.target] ?? edge.target}`
        const problems = byEdge[edge.id]
        const onPath = highlight?.edges.has(edge.id)
        const className = [problems ? 'edge-problem' : '', onPath ? 'edge-on-path' : '', highlight && !onPath ? 'edge-off-path' : '']
          .filter(Boolean)
          .join(' ')
        return {
          ...edge,
          className: className || undefined,
          animated: onPath || undefined,
          markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 },
          ariaLabel: problems ? `${label}: ${problems.join(' ')}` : label,
        }
      }),
    [edges, byEdge, highlight, names],
  )

  const isValidConnection: IsValidConnection<Edge> = useCallback((connection) => {
    const state = useEditor.getState()
    if (!connection.source || !connection.target) return false
    const target = state.nodes.find((n) => n.id === connection.target)
    if (!target || state.kinds[target.data.type]?.is_trigger) return false
    return !wouldLoop(state.edges, connection.source, connection.target)
  }, [])

  // Dropping a port's line anywhere on a node (not only on its input) connects to it.
  const onConnectEnd = useCallback(
    (event: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (state.isValid || !state.fromNode || !state.fromHandle?.id) return
      const point = 'changedTouches' in event ? event.changedTouches[0] : event
      const element = document.elementFromPoint(point.clientX, point.clientY)
      const nodeElement = element?.closest<HTMLElement>('.react-flow__node')
      const target = nodeElement?.dataset.id
      if (!target || target === state.fromNode.id) return
      const connection: Connection = { source: state.fromNode.id, sourceHandle: state.fromHandle.id, target, targetHandle: 'in' }
      if (isValidConnection(connection)) connect(connection)
    },
    [connect, isValidConnection],
  )

  return (
    <div className="canvas" aria-label="Flow canvas" ref={container}>
      <ReactFlow<FlowNode, FlowEdge>
        nodes={nodes}
        edges={shownEdges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={connect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        onNodeDragStart={beginDrag}
        onNodeDragStop={endDrag}
        onSelectionDragStart={beginDrag}
        onSelectionDragStop={endDrag}
        defaultViewport={initialViewport}
        deleteKeyCode={DELETE_KEYS}
        connectionRadius={30}
        minZoom={0.1}
        maxZoom={2}
        ariaLabelConfig={ARIA_LABELS}
      >
        <Background gap={20} />
        <MiniMap<FlowNode> pannable zoomable nodeColor={minimapColour} ariaLabel="Minimap of the flow" />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  )
}

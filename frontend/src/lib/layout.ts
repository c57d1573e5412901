// Auto-layout: a top-to-bottom layered drawing (dagre), ports ordered as the node lists them.
import { Graph, layout } from '@dagrejs/dagre'

export interface LayoutNode {
  id: string
  width?: number
  height?: number
}

export interface LayoutEdge {
  source: string
  target: string
}

export const NODE_WIDTH = 240
export const NODE_HEIGHT = 100

/** Top-left positions for every node, from a layered layout of the graph. */
export function autoLayout(nodes: LayoutNode[], edges: LayoutEdge[]): Record<string, { x: number; y: number }> {
  const graph = new Graph({ multigraph: true })
  graph.setGraph({ rankdir: 'TB', nodesep: 60, ranksep: 70, marginx: 20, marginy: 20 })
  graph.setDefaultEdgeLabel(() => ({}))
  for (const node of nodes) {
    graph.setNode(node.id, { width: node.width ?? NODE_WIDTH, height: node.height ?? NODE_HEIGHT })
  }
  edges.forEach((edge, index) => {
    if (graph.hasNode(edge.source) && graph.hasNode(edge.target)) {
      graph.setEdge(edge.source, edge.target, {}, `e${index}`)
    }
  })
  layout(graph)
  const positions: Record<string, { x: number; y: number }> = {}
  for (const node of nodes) {
    const placed = graph.node(node.id)
    const width = node.width ?? NODE_WIDTH
    const height = node.height ?? NODE_HEIGHT
    positions[node.id] = { x: Math.round(placed.x - width / 2), y: Math.round(placed.y - height / 2) }
  }
  return positions
}

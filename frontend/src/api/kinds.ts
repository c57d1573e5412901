// The node catalogue (GET /api/node-types), asked once per page load.
import { api } from './client'
import type { FlowDetail, NodeType } from './types'

let kindsPromise: Promise<NodeType[]> | null = null

export function loadKinds(): Promise<NodeType[]> {
  kindsPromise ??= api.nodeTypes().then((page) => page.items)
  kindsPromise.catch(() => (kindsPromise = null))
  return kindsPromise
}

// A deep link to a flow starts loading it with the app, alongside the session check, rather
// than after it.
let early: { id: number; detail: Promise<FlowDetail> } | null = null

export function prefetchFlowFromUrl(path: string): void {
  const match = /^\/flows\/(\d+)\/?$/.exec(path)
  if (!match) return
  const id = Number(match[1])
  const detail = api.getFlow(id)
  detail.catch(() => undefined) // a 401 or 404 is answered again when the editor asks
  early = { id, detail }
  loadKinds().catch(() => undefined)
}

/** The flow, from the early request when there is one for this id (used once). */
export function loadFlow(id: number): Promise<FlowDetail> {
  if (early && early.id === id) {
    const { detail } = early
    early = null
    return detail.catch(() => api.getFlow(id))
  }
  return api.getFlow(id)
}

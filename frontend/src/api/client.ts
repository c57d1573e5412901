// A small wrapper over fetch: JSON in and out, the session cookie, errors in plain words.
import type {
  ChannelSetting,
  ChannelTestResult,
  Contact,
  ContactDetail,
  ContactRow,
  ImportReport,
  Segment,
  SegmentMember,
  SegmentPreview,
  FlowDetail,
  FlowDocument,
  FlowStats,
  FlowSummary,
  Me,
  NodeType,
  Page,
  Problem,
  SimReport,
  DeliveryPolicy,
  Suppression,
} from './types'

export class ApiError extends Error {
  readonly status: number
  readonly problems: Problem[]
  readonly detail: unknown

  constructor(status: number, message: string, problems: Problem[] = [], detail?: unknown) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.problems = problems
    this.detail = detail
  }
}

/** What to tell the user about a failed call: the server's words, else `fallback` (the network). */
export function errorText(failure: unknown, fallback: string): string {
  return failure instanceof ApiError ? failure.message : fallback
}

type Listener = () => void
const unauthorizedListeners = new Set<Listener>()

/** Called when the API answers 401 (the session ended): the app shows the sign-in page. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

/** One JSON call to the API: errors become `ApiError`s in words; a 401 signs the user out. */
export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.')
  }
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let data: unknown = undefined
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = text
    }
  }
  if (!response.ok) {
    const payload = (typeof data === 'object' && data !== null ? data : {}) as {
      error?: string
      problems?: Problem[]
      detail?: unknown
    }
    if (response.status === 401 && !path.endsWith('/auth/login')) {
      unauthorizedListeners.forEach((listener) => listener())
    }
    throw new ApiError(
      response.status,
      payload.error ?? `The server answered ${response.status}.`,
      payload.problems ?? [],
      payload.detail,
    )
  }
  return data as T
}

export const api = {
  login: (email: string, password: string) =>
    request<Me>('POST', '/api/auth/login', { email, password }),
  logout: () => request<unknown>('POST', '/api/auth/logout'),
  me: () => request<Me>('GET', '/api/auth/me'),

  nodeTypes: () => request<Page<NodeType>>('GET', '/api/node-types'),

  listFlows: (cursor?: string) =>
    request<Page<FlowSummary>>(
      'GET',
      `/api/flows?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    ),
  getFlow: (id: number) => request<FlowDetail>('GET', `/api/flows/${id}`),
  createFlow: (document: Partial<FlowDocument> & { name: string }) =>
    request<FlowDetail>('POST', '/api/flows', document),
  saveFlow: (id: number, document: FlowDocument) =>
    request<FlowDetail>('PUT', `/api/flows/${id}`, document),
  deleteFlow: (id: number) => request<void>('DELETE', `/api/flows/${id}`),
  importFlow: (document: unknown) => request<FlowDetail>('POST', '/api/flows/import', document),
  exportFlow: (id: number) => request<FlowDocument>('GET', `/api/flows/${id}/export`),
  publish: (id: number) => request<{ status: string }>('POST', `/api/flows/${id}/publish`),
  pause: (id: number) => request<unknown>('POST', `/api/flows/${id}/pause`),
  resume: (id: number) => request<unknown>('POST', `/api/flows/${id}/resume`),
  simulate: (id: number, body: SimulationRequest) =>
    request<SimReport>('POST', `/api/flows/${id}/simulate`, body),
  stats: (id: number) => request<FlowStats>('GET', `/api/flows/${id}/stats`),

  listContacts: (limit = 200) => request<Page<Contact>>('GET', `/api/contacts?limit=${limit}`),

  searchContacts: (query: ContactQuery) =>
    request<Page<ContactRow>>('GET', `/api/contacts${queryString({ ...query })}`),
  getContact: (id: string) => request<ContactDetail>('GET', `/api/contacts/${encodeURIComponent(id)}`),
  importContacts: (file: File) => upload<ImportReport>('/api/contacts/import', 'file', file),

  listSegments: (cursor?: string) =>
    request<Page<Segment>>('GET', `/api/segments${queryString({ limit: 1000, cursor })}`),
  getSegment: (key: string) => request<Segment>('GET', `/api/segments/${encodeURIComponent(key)}`),
  createSegment: (segment: { key: string; name: string; rule: unknown }) =>
    request<Segment>('POST', '/api/segments', segment),
  saveSegment: (key: string, segment: { name: string; rule: unknown }) =>
    request<Segment>('PUT', `/api/segments/${encodeURIComponent(key)}`, segment),
  deleteSegment: (key: string) => request<void>('DELETE', `/api/segments/${encodeURIComponent(key)}`),
  segmentMembers: (key: string, limit = 50, cursor?: string | null) =>
    request<Page<SegmentMember>>(
      'GET',
      `/api/segments/${encodeURIComponent(key)}/members${queryString({ limit, cursor })}`,
    ),
  previewSegment: (rule: unknown) => request<SegmentPreview>('POST', '/api/segments/preview', { rule }),

  listChannelSettings: () => request<Page<ChannelSetting>>('GET', '/api/settings/channels'),
  saveChannelUrl: (channel: string, url: string) =>
    request<ChannelSetting>('PUT', `/api/settings/channels/${encodeURIComponent(channel)}`, { url }),
  deleteChannelUrl: (channel: string) =>
    request<ChannelSetting>('DELETE', `/api/settings/channels/${encodeURIComponent(channel)}`),
  testChannel: (channel: string, to: string) =>
    request<ChannelTestResult>('POST', `/api/settings/channels/${encodeURIComponent(channel)}/test`, { to }),

  getPolicy: () => request<DeliveryPolicy>('GET', '/api/settings/policy'),
  savePolicy: (policy: DeliveryPolicy) => request<DeliveryPolicy>('PUT', '/api/settings/policy', policy),
  listSuppressions: (query: SuppressionQuery = {}) =>
    request<Page<Suppression>>('GET', `/api/suppressions${queryString({ ...query })}`),
  addSuppression: (entry: { channel: string; address: string; reason?: string }) =>
    request<Suppression>('POST', '/api/suppressions', entry),
  // Push endpoints are URLs: the whole address is one encoded path segment.
  removeSuppression: (channel: string, address: string) =>
    request<void>('DELETE', `/api/suppressions/${encodeURIComponent(channel)}/${encodeURIComponent(address)}`),
}

export interface SuppressionQuery {
  channel?: string
  limit?: number
  cursor?: string | null
}

export interface ContactQuery {
  q?: string
  segment?: string
  limit?: number
  cursor?: string | null
}

/** "?a=1&b=x" from the parameters that have a value (empty strings and null are left out). */
export function queryString(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value))
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

/** A file sent as multipart/form-data under `field`; errors as request() reports them. */
async function upload<T>(path: string, field: string, file: File): Promise<T> {
  const form = new FormData()
  form.append(field, file, file.name)
  let response: Response
  try {
    response = await fetch(path, { method: 'POST', credentials: 'same-origin', body: form })
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.')
  }
  const text = await response.text()
  let data: unknown = undefined
  try {
    data = text ? JSON.parse(text) : undefined
  } catch {
    data = text
  }
  if (!response.ok) {
    const payload = (typeof data === 'object' && data !== null ? data : {}) as { error?: string; detail?: unknown }
    if (response.status === 401) unauthorizedListeners.forEach((listener) => listener())
    const words = response.status === 413 ? 'The file is too large for the server.' : `The server answered ${response.status}.`
    throw new ApiError(response.status, payload.error ?? words, [], payload.detail)
  }
  return data as T
}

export interface SimulationRequest {
  contacts?: unknown[]
  contact_ids?: string[]
  events?: unknown[]
  start?: string
  horizon?: string
  seed?: number
}

import { render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { MemoryRouter } from 'react-router'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Suppression } from '../api/types'
import { SuppressionsPage } from './SuppressionsPage'

type Answer = { status: number; body?: unknown }

function fakeApi(answers: Record<string, (body: unknown) => Answer>) {
  const calls: Array<{ method: string; path: string; body: unknown }> = []
  vi.stubGlobal('fetch', async (path: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET'
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined
    calls.push({ method, path, body })
    const answer = answers[`${method} ${path}`]?.(body) ?? { status: 404, body: { error: `no ${method} ${path}` } }
    return answer.status === 204
      ? new Response(null, { status: 204 })
      : new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'Content-Type': 'application/json' } })
  })
  return calls
}

function entry(address: string, extra: Partial<Suppression> = {}): Suppression {
  return { channel: 'email', address, reason: 'manual', created_at: new Date().toISOString(), ...extra }
}

function page(path = '/settings/suppressions') {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <SuppressionsPage />
    </MemoryRouter>,
  )
}

afterEach(() => vi.unstubAllGlobals())

describe('SuppressionsPage', () => {
  it('says what the list is for when it is empty', async () => {
    fakeApi({ 'GET /api/suppressions?limit=50': () => ({ status: 200, body: { items: [], next: null } }) })
    page()
    expect(await screen.findByRole('heading', { name: 'No suppressed addresses' })).toBeInTheDocument()
    expect(screen.getByText(/stops every send to an address on its channel/)).toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument()
  })

  it('lists entries in words and loads more with the next cursor', async () => {
    const calls = fakeApi({
      'GET /api/suppressions?limit=50': () => ({
        status: 200,
        body: { items: [entry('ann@example.com', { reason: 'hard_bounce: 550 no such user' })], next: 'c2' },
      }),
      'GET /api/suppressions?limit=50&cursor=c2': () => ({
        status: 200,
        body: { items: [entry('+393401112233', { channel: 'sms', reason: 'complaint' })], next: null },
      }),
    })
    page()
    const table = await screen.findByRole('table', { name: 'Suppressed addresses' })
    expect(within(table).getByRole('row', { name: /ann@example.com/ })).toHaveTextContent(
      'Hard bounce (550 no such user)',
    )
    await userEvent.click(screen.getByRole('button', { name: 'Load more' }))
    expect(await within(table).findByRole('row', { name: /\+393401112233/ })).toHaveTextContent('Spam complaint')
    expect(within(table).getAllByRole('row')).toHaveLength(3) // the header and both entries
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument()
    expect(calls.map((c) => c.path)).toEqual(['/api/suppressions?limit=50', '/api/suppressions?limit=50&cursor=c2'])
  })

  it('filters by channel from the address bar', async () => {
    const calls = fakeApi({
      'GET /api/suppressions?channel=sms&limit=50': () => ({ status: 200, body: { items: [], next: null } }),
    })
    page('/settings/suppressions?channel=sms')
    expect(await screen.findByRole('heading', { name: 'No suppressed SMS addresses' })).toBeInTheDocument()
    expect(calls[0].path).toBe('/api/suppressions?channel=sms&limit=50')
    expect(screen.getByRole('combobox', { name: 'Channel' })).toHaveValue('sms') // the add form follows
  })

  it('adds an address and shows the server refusal in its words', async () => {
    let listed: Suppression[] = []
    const calls = fakeApi({
      'GET /api/suppressions?limit=50': () => ({ status: 200, body: { items: listed, next: null } }),
      'POST /api/suppressions': (body) => {
        const { address } = body as { address: string }
        if (!address.includes('@')) return { status: 400, body: { error: "'address' is not an address." } }
        listed = [entry(address)]
        return { status: 201, body: listed[0] }
      },
    })
    page()
    await screen.findByRole('heading', { name: 'No suppressed addresses' })
    const form = screen.getByRole('region', { name: 'Add an address' })
    await userEvent.type(within(form).getByLabelText('Address'), 'nobody')
    await userEvent.click(within(form).getByRole('button', { name: 'Add to the list' }))
    expect(await within(form).findByRole('alert')).toHaveTextContent("'address' is not an address.")

    await userEvent.clear(within(form).getByLabelText('Address'))
    await userEvent.type(within(form).getByLabelText('Address'), 'bob@example.com')
    await userEvent.click(within(form).getByRole('button', { name: 'Add to the list' }))
    expect(await screen.findByRole('row', { name: /bob@example.com/ })).toHaveTextContent('Added by hand')
    expect(screen.getByRole('status')).toHaveTextContent('bob@example.com is suppressed on Email')
    expect(calls.filter((c) => c.method === 'POST').at(-1)?.body).toEqual({
      channel: 'email',
      address: 'bob@example.com',
      reason: 'manual',
    })
  })

  it('removes an entry only after confirming, with the address encoded in the path', async () => {
    const push = entry('https://push.example/send/a b', { channel: 'push' })
    const calls = fakeApi({
      'GET /api/suppressions?limit=50': () => ({ status: 200, body: { items: [push], next: null } }),
      'DELETE /api/suppressions/push/https%3A%2F%2Fpush.example%2Fsend%2Fa%20b': () => ({ status: 204 }),
    })
    page()
    await userEvent.click(await screen.findByRole('button', { name: `Remove ${push.address} (Push notification)` }))
    const dialog = screen.getByRole('dialog', { name: 'Remove this suppression?' })
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }))
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false)

    await userEvent.click(screen.getByRole('button', { name: `Remove ${push.address} (Push notification)` }))
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Remove' }))
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument())
    expect(screen.getByRole('heading', { name: 'No suppressed addresses' })).toBeInTheDocument()
    expect(screen.getByRole('status')).toHaveTextContent('is off the list')
  })
})

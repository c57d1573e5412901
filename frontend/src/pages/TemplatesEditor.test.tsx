import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { MemoryRouter, Route, Routes } from 'react-router'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TemplatesEditor } from './TemplatesEditor'

type Call = { method: string; path: string; body: Record<string, unknown> | undefined }

const SAVED = {
  key: 'welcome_sms',
  name: 'Welcome',
  channel: 'sms',
  version: 2,
  content: { text: 'Hi {{ contact.attributes.first_name }}' },
  created_at: '2026-03-01T09:00:00Z',
  updated_at: '2026-03-02T09:00:00Z',
  versions: [
    { number: 2, content: { text: 'Hi {{ contact.attributes.first_name }}' }, created_at: '2026-03-02T09:00:00Z' },
    { number: 1, content: { text: 'Old text' }, created_at: '2026-03-01T09:00:00Z' },
  ],
}

/** A fake server: previews render `{{ contact.attributes.first_name }}` as "Bill". */
function fakeApi() {
  const calls: Call[] = []
  vi.stubGlobal('fetch', async (path: string, init: RequestInit = {}) => {
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined
    const method = init.method ?? 'GET'
    calls.push({ method, path, body })
    let status = 200
    let answer: unknown = SAVED
    if (path.endsWith('/preview')) {
      const content = body?.content as Record<string, string>
      if (body?.contact === 'nobody') {
        status = 400
        answer = { error: "'contact': there is no contact with id 'nobody'." }
      } else {
        const text = content.text.replace('{{ contact.attributes.first_name }}', 'Bill')
        answer = { channel: 'sms', content: { text }, sms: { encoding: 'GSM-7', characters: text.length, units: text.length, segments: 1, per_segment: 160, ucs2_because: null } }
      }
    } else if (method === 'PUT') {
      answer = { ...SAVED, version: 3, content: body?.content, versions: [{ number: 3, content: body?.content, created_at: '2026-03-03T09:00:00Z' }, ...SAVED.versions] }
    } else if (method === 'POST') {
      status = 201
      answer = { ...SAVED, ...body, version: 1, versions: [] }
    }
    return new Response(JSON.stringify(answer), { status, headers: { 'Content-Type': 'application/json' } })
  })
  return calls
}

function renderAt(path: string) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <Routes>
        <Route path="/templates/:templateKey" element={<TemplatesEditor />} />
      </Routes>
    </MemoryRouter>,
  )
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('the template editor', () => {
  it('previews the edits for a contact, with the SMS length, and saves a new version', async () => {
    const calls = fakeApi()
    renderAt('/templates/welcome_sms')
    const message = await screen.findByRole('textbox', { name: 'Message' })
    expect(screen.getByText(/As written: 38 characters · 1 segment · GSM-7/)).toBeInTheDocument()
    expect(screen.getByText('Enter a contact id to preview the message for that contact.')).toBeInTheDocument()
    await userEvent.type(screen.getByRole('textbox', { name: 'For contact (id)' }), 'c-1')
    await screen.findByText('Hi Bill', {}, { timeout: 3000 })
    expect(screen.getByText('7 characters · 1 segment · GSM-7')).toBeInTheDocument()

    await userEvent.type(message, '!')
    await screen.findByText('Hi Bill!', {}, { timeout: 3000 })
    const previews = calls.filter((c) => c.path === '/api/templates/welcome_sms/preview')
    expect(previews.at(-1)?.body).toEqual({ contact: 'c-1', content: { text: 'Hi {{ contact.attributes.first_name }}!' } })

    await userEvent.click(screen.getByRole('button', { name: 'Save as a new version' }))
    await screen.findByText(/Saved as version 3/)
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual({ name: 'Welcome', content: { text: 'Hi {{ contact.attributes.first_name }}!' } })
  }, 20000)

  it('shows why a preview failed', async () => {
    fakeApi()
    renderAt('/templates/welcome_sms')
    await userEvent.type(await screen.findByRole('textbox', { name: 'For contact (id)' }), 'nobody')
    expect(await screen.findByRole('alert', {}, { timeout: 3000 })).toHaveTextContent("there is no contact with id 'nobody'")
  }, 15000)

  it('loads an earlier version into the editor', async () => {
    fakeApi()
    renderAt('/templates/welcome_sms')
    await userEvent.click(await screen.findByText('Versions (2)'))
    await userEvent.click(screen.getByRole('button', { name: 'Load into the editor' }))
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('Old text')
  })

  it('creates a template with a key suggested from its name', async () => {
    const calls = fakeApi()
    renderAt('/templates/_new')
    await userEvent.type(screen.getByRole('textbox', { name: 'Name' }), 'Order shipped')
    expect(screen.getByRole('textbox', { name: /^Key/ })).toHaveValue('order_shipped')
    await userEvent.type(screen.getByRole('textbox', { name: 'Message' }), 'On its way')
    await userEvent.click(screen.getByRole('button', { name: 'Create template' }))
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.path === '/api/templates')).toBe(true))
    expect(calls.find((c) => c.path === '/api/templates')?.body).toEqual({
      key: 'order_shipped',
      name: 'Order shipped',
      channel: 'sms',
      content: { text: 'On its way' },
    })
  }, 15000)
})

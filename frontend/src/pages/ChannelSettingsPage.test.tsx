import { render, screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ChannelSetting } from '../api/types'
import { sourceText, testAnswerText } from './ChannelSettingsModel'
import { ChannelSettingsPage } from './ChannelSettingsPage'

function setting(channel: string, extra: Partial<ChannelSetting> = {}): ChannelSetting {
  return {
    channel,
    provider: 'sandbox',
    source: 'default',
    env_var: `CASTFLOW_${channel.toUpperCase()}_URL`,
    stored: false,
    settings: {},
    ...extra,
  }
}

function fakeApi(answers: Record<string, (body: unknown) => { status: number; body: unknown }>) {
  const calls: Array<{ method: string; path: string; body: unknown }> = []
  vi.stubGlobal('fetch', async (path: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET'
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined
    calls.push({ method, path, body })
    const answer = answers[`${method} ${path}`]?.(body) ?? { status: 404, body: { error: 'no' } }
    return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'Content-Type': 'application/json' } })
  })
  return calls
}

afterEach(() => vi.unstubAllGlobals())

describe('words', () => {
  it('names the environment variable and a waiting workspace setting', () => {
    const text = sourceText(setting('sms', { source: 'environment', stored: true }))
    expect(text).toContain('CASTFLOW_SMS_URL')
    expect(text).toContain('applies once the variable is removed')
    expect(sourceText(setting('sms'))).toContain('sandbox')
  })
  it('says what the provider answered', () => {
    const base = { channel: 'email', provider: 'smtp', source: 'workspace', to: 'a@b.co' }
    expect(testAnswerText({ ...base, status: 'accepted', provider_id: '<x@y>' })).toBe(
      'SMTP accepted the message to a@b.co (id <x@y>).',
    )
    expect(testAnswerText({ ...base, status: 'failed', error: '535 bad login' })).toBe(
      'SMTP refused the message: 535 bad login',
    )
  })
})

describe('ChannelSettingsPage', () => {
  it('saves a URL, then shows the provider and a test answer', async () => {
    const saved = setting('email', {
      provider: 'smtp',
      source: 'workspace',
      stored: true,
      redacted_url: 'smtp://u:***@mail.example.com?from=a@b.co',
    })
    const calls = fakeApi({
      'GET /api/settings/channels': () => ({ status: 200, body: { items: [setting('email'), setting('sms')], next: null } }),
      'PUT /api/settings/channels/email': () => ({ status: 200, body: saved }),
      'POST /api/settings/channels/email/test': () => ({
        status: 200,
        body: { channel: 'email', provider: 'smtp', source: 'workspace', to: 'a@b.co', status: 'accepted', provider_id: 'm-1' },
      }),
    })
    const user = userEvent.setup()
    render(<ChannelSettingsPage />)
    const card = await screen.findByRole('region', { name: 'Email' })
    await user.type(within(card).getByLabelText('Provider URL'), 'smtp://u:pw@mail.example.com?from=a@b.co')
    await user.click(within(card).getByRole('button', { name: 'Save Email provider' }))
    expect(await within(card).findByText('smtp://u:***@mail.example.com?from=a@b.co')).toBeTruthy()
    expect(within(card).getByText('Set for this workspace on this page.')).toBeTruthy()
    expect((within(card).getByLabelText('Replace the provider URL') as HTMLInputElement).value).toBe('')
    await user.type(within(card).getByLabelText('Send a test message to'), 'a@b.co')
    await user.click(within(card).getByRole('button', { name: 'Send a test message' }))
    expect((await within(card).findByRole('status')).textContent).toBe('SMTP accepted the message to a@b.co (id m-1).')
    expect(calls.filter((c) => c.method !== 'GET').map((c) => [c.method, c.body])).toEqual([
      ['PUT', { url: 'smtp://u:pw@mail.example.com?from=a@b.co' }],
      ['POST', { to: 'a@b.co' }],
    ])
  })

  it('shows why a URL was refused', async () => {
    fakeApi({
      'GET /api/settings/channels': () => ({ status: 200, body: { items: [setting('email')], next: null } }),
      'PUT /api/settings/channels/email': () => ({
        status: 400,
        body: { error: "the email provider URL: parameter 'from' is required." },
      }),
    })
    const user = userEvent.setup()
    render(<ChannelSettingsPage />)
    const card = await screen.findByRole('region', { name: 'Email' })
    await user.type(within(card).getByLabelText('Provider URL'), 'smtp://mail.example.com')
    await user.click(within(card).getByRole('button', { name: 'Save Email provider' }))
    expect((await within(card).findByRole('alert')).textContent).toContain("parameter 'from' is required")
  })
})

import { render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { MemoryRouter, Route, Routes } from 'react-router'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { SegmentPage } from './SegmentPage'

type Answer = { status: number; body: unknown; delay?: number }

/** A fake API: `preview` answers each rule; the calls are recorded. */
function fakeApi(preview: (rule: unknown) => Answer) {
  const calls: Array<{ method: string; path: string; body: unknown }> = []
  vi.stubGlobal('fetch', async (path: string, init: RequestInit = {}) => {
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined
    calls.push({ method: init.method ?? 'GET', path, body })
    let answer: Answer = { status: 200, body: { items: [], next: null } }
    if (path === '/api/segments/preview') answer = preview(body.rule)
    if (path === '/api/segments' && init.method === 'POST') answer = { status: 201, body: { ...body, count: 1 } }
    if (answer.delay) await new Promise((resolve) => setTimeout(resolve, answer.delay))
    return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'Content-Type': 'application/json' } })
  })
  return calls
}

function renderNew() {
  return render(
    <MemoryRouter initialEntries={['/segments/_new']}>
      <Routes>
        <Route path="/segments/_new" element={<SegmentPage />} />
        <Route path="/segments/:segmentKey" element={<SegmentPage />} />
      </Routes>
    </MemoryRouter>,
  )
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('the segment page', () => {
  it('counts the rule being edited, keeping only the answer to its latest version', async () => {
    // The answer for "I" is slow and arrives after the one for "IT": it must not win.
    const calls = fakeApi((rule) => {
      const value = (rule as { '==': [unknown, string] })['==']?.[1]
      if (value === 'I') return { status: 200, body: { count: 99, sample: [] }, delay: 1200 }
      return { status: 200, body: { count: 2, sample: [{ id: 'c-anna', attributes: { first_name: 'Anna' } }] } }
    })
    renderNew()
    expect(screen.getByText('Add a condition to count the contacts who match.')).toBeInTheDocument()
    await userEvent.click(screen.getByRole('button', { name: 'Add condition' }))
    const value = screen.getByRole('textbox', { name: 'Value' })
    await userEvent.type(value, 'I')
    await waitFor(() => expect(calls.some((c) => c.path === '/api/segments/preview')).toBe(true), { timeout: 3000 })
    await userEvent.type(value, 'T')
    const count = await screen.findByTestId('live-count', {}, { timeout: 3000 })
    await waitFor(() => expect(count).toHaveTextContent('2'), { timeout: 3000 })
    await new Promise((resolve) => setTimeout(resolve, 1300)) // the slow answer has arrived by now
    expect(screen.getByTestId('live-count')).toHaveTextContent('2')
    const sample = screen.getByRole('list', { name: 'Sample of matching contacts' })
    expect(within(sample).getByRole('link', { name: 'Anna' })).toHaveAttribute('href', '/contacts/c-anna')
    const previews = calls.filter((c) => c.path === '/api/segments/preview')
    expect(previews.at(-1)?.body).toEqual({ rule: { '==': [{ var: 'contact.attributes.country' }, 'IT'] } })
  }, 15_000)

  it('shows why the server refuses a rule, and does not save without a key', async () => {
    fakeApi(() => ({ status: 400, body: { error: "The rule cannot be used: at /==/0/var: a segment rule reads the contact only" } }))
    renderNew()
    await userEvent.click(screen.getByRole('button', { name: 'Add condition' }))
    await userEvent.type(screen.getByRole('textbox', { name: 'Value' }), 'x')
    const aside = screen.getByRole('complementary', { name: 'Matching contacts' })
    expect(await within(aside).findByRole('alert', {}, { timeout: 3000 })).toHaveTextContent('reads the contact only')
    await userEvent.click(screen.getByRole('button', { name: 'Create segment' }))
    expect(screen.getAllByRole('alert')[0]).toHaveTextContent('Give the segment a key')
  }, 15_000)

  it('writes event aggregates from the sentence the marketer fills in', async () => {
    const calls = fakeApi(() => ({ status: 200, body: { count: 0, sample: [] } }))
    renderNew()
    await userEvent.click(screen.getByRole('button', { name: 'Add event condition' }))
    const aggregate = screen.getByRole('group', { name: 'Condition on event …' })
    await userEvent.type(within(aggregate).getByRole('combobox', { name: 'Event name' }), 'purchased')
    const filled = screen.getByRole('group', { name: 'Condition on event purchased' })
    await userEvent.selectOptions(within(filled).getByRole('combobox', { name: 'How many times' }), 'gte')
    await userEvent.clear(within(filled).getByRole('spinbutton', { name: 'Number of times' }))
    await userEvent.type(within(filled).getByRole('spinbutton', { name: 'Number of times' }), '3')
    await userEvent.clear(within(filled).getByRole('spinbutton', { name: 'Number of days' }))
    await userEvent.type(within(filled).getByRole('spinbutton', { name: 'Number of days' }), '90')
    expect(screen.getByText('In words: has done "purchased" at least 3 times in the last 90 days.')).toBeInTheDocument()
    await userEvent.type(screen.getByLabelText('Key'), 'buyers')
    await userEvent.click(screen.getByRole('button', { name: 'Create segment' }))
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.path === '/api/segments')).toBe(true))
    const created = calls.find((c) => c.method === 'POST' && c.path === '/api/segments')
    expect(created?.body).toEqual({
      key: 'buyers',
      name: 'buyers',
      rule: { '>=': [{ event_count: { name: 'purchased', days: 90 } }, 3] },
    })
  }, 15_000)
})

import { render, screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { useState } from 'react'
import { describe, expect, it, vi } from 'vitest'
import { ConditionBuilder } from './ConditionBuilder'

const FIELDS = ['contact.attributes.country', 'contact.attributes.lifecycle', 'contact.email', 'event.properties.cart_total']

function Harness({ initial, onChange }: { initial: unknown; onChange: (v: unknown) => void }) {
  const [value, setValue] = useState(initial)
  return (
    <ConditionBuilder
      label="Only contacts who"
      value={value}
      fields={FIELDS}
      onChange={(v) => {
        setValue(v)
        onChange(v)
      }}
    />
  )
}

describe('ConditionBuilder', () => {
  it('builds JsonLogic from rows of field, comparison and value', async () => {
    const onChange = vi.fn()
    render(<Harness initial={null} onChange={onChange} />)
    expect(screen.getByText('No condition: everyone goes on.')).toBeInTheDocument()
    await userEvent.click(screen.getByRole('button', { name: 'Add condition' }))
    const value = screen.getByRole('textbox', { name: 'Value' })
    await userEvent.type(value, 'IT')
    expect(onChange).toHaveBeenLastCalledWith({ '==': [{ var: 'contact.attributes.country' }, 'IT'] })
    expect(screen.getByText('In words: Country is "IT".')).toBeInTheDocument()

    await userEvent.click(screen.getByRole('button', { name: 'Add condition' }))
    const rules = screen.getAllByRole('group', { name: /^Condition on/ })
    const second = rules[1]
    const field = within(second).getByRole('combobox', { name: 'Field' })
    await userEvent.clear(field)
    await userEvent.type(field, 'event.properties.cart_total')
    await userEvent.selectOptions(within(second).getByRole('combobox', { name: 'Comparison' }), 'gt')
    await userEvent.type(within(second).getByRole('textbox', { name: 'Value' }), '20')
    expect(onChange).toHaveBeenLastCalledWith({
      and: [
        { '==': [{ var: 'contact.attributes.country' }, 'IT'] },
        { '>': [{ var: 'event.properties.cart_total' }, 20] },
      ],
    })
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Match all or any' }), 'any')
    expect(onChange).toHaveBeenLastCalledWith({
      or: [
        { '==': [{ var: 'contact.attributes.country' }, 'IT'] },
        { '>': [{ var: 'event.properties.cart_total' }, 20] },
      ],
    })
  })

  it('shows stored JsonLogic as rows, and writes it back unchanged after an edit and its undo', async () => {
    const stored = {
      and: [
        { in: [{ var: 'contact.attributes.country' }, ['IT', 'FR']] },
        { '!!': [{ var: 'contact.email' }] },
      ],
    }
    const onChange = vi.fn()
    render(<Harness initial={stored} onChange={onChange} />)
    const rules = screen.getAllByRole('group', { name: /^Condition on/ })
    expect(within(rules[0]).getByRole('combobox', { name: 'Field' })).toHaveValue('contact.attributes.country')
    expect(within(rules[0]).getByRole('combobox', { name: 'Comparison' })).toHaveValue('oneOf')
    expect(within(rules[0]).getByRole('textbox', { name: 'Values, separated by commas' })).toHaveValue('IT, FR')
    expect(within(rules[1]).getByRole('combobox', { name: 'Comparison' })).toHaveValue('set')
    await userEvent.click(screen.getByRole('button', { name: 'Remove condition on Email address' }))
    expect(onChange).toHaveBeenLastCalledWith({ in: [{ var: 'contact.attributes.country' }, ['IT', 'FR']] })
  })

  it('nests groups', async () => {
    const onChange = vi.fn()
    render(<Harness initial={{ '==': [{ var: 'contact.attributes.country' }, 'IT'] }} onChange={onChange} />)
    await userEvent.click(screen.getByRole('button', { name: 'Add group' }))
    expect(onChange).toHaveBeenLastCalledWith({
      and: [
        { '==': [{ var: 'contact.attributes.country' }, 'IT'] },
        { or: [{ '==': [{ var: 'contact.attributes.country' }, ''] }] },
      ],
    })
  })

  it('keeps JsonLogic it cannot show, as editable text', async () => {
    const onChange = vi.fn()
    render(<Harness initial={{ '+': [1, 2] }} onChange={onChange} />)
    const text = screen.getByRole('textbox', { name: 'Only contacts who (JsonLogic)' })
    expect(JSON.parse((text as HTMLTextAreaElement).value)).toEqual({ '+': [1, 2] })
    expect(onChange).not.toHaveBeenCalled()
  })
})

import { render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { useState } from 'react'
import { describe, expect, it, vi } from 'vitest'
import { DurationPicker } from './DurationPicker'

function Harness({ initial, onChange }: { initial?: string; onChange: (v: string | undefined) => void }) {
  const [value, setValue] = useState(initial)
  return (
    <DurationPicker
      label="Wait for"
      value={value}
      onChange={(v) => {
        setValue(v)
        onChange(v)
      }}
    />
  )
}

describe('DurationPicker', () => {
  it('shows an ISO duration as an amount and a unit, in words', () => {
    render(<Harness initial="P2D" onChange={() => {}} />)
    expect(screen.getByRole('spinbutton', { name: 'Wait for: how many' })).toHaveValue(2)
    expect(screen.getByRole('combobox', { name: 'Wait for: unit' })).toHaveValue('days')
    expect(screen.getByText('2 days')).toBeInTheDocument()
  })

  it('writes ISO 8601 as the marketer picks amounts and units', async () => {
    const onChange = vi.fn()
    render(<Harness initial="P2D" onChange={onChange} />)
    const amount = screen.getByRole('spinbutton', { name: 'Wait for: how many' })
    await userEvent.clear(amount)
    expect(onChange).toHaveBeenLastCalledWith(undefined)
    await userEvent.type(amount, '36')
    expect(onChange).toHaveBeenLastCalledWith('P36D')
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Wait for: unit' }), 'hours')
    expect(onChange).toHaveBeenLastCalledWith('PT36H')
    expect(screen.getByText('36 hours')).toBeInTheDocument()
  })

  it('combines units', async () => {
    const onChange = vi.fn()
    render(<Harness initial="P1D" onChange={onChange} />)
    await userEvent.click(screen.getByRole('button', { name: '+ another unit' }))
    const amounts = screen.getAllByRole('spinbutton', { name: 'Wait for: how many' })
    const units = screen.getAllByRole('combobox', { name: 'Wait for: unit' })
    await userEvent.selectOptions(units[1], 'hours')
    await userEvent.type(amounts[1], '6')
    expect(onChange).toHaveBeenLastCalledWith('P1DT6H')
    await userEvent.click(screen.getByRole('button', { name: 'Remove days' }))
    expect(onChange).toHaveBeenLastCalledWith('PT6H')
  })

  it('follows a change from outside (undo)', () => {
    const { rerender } = render(<DurationPicker label="Wait for" value="P1D" onChange={() => {}} />)
    rerender(<DurationPicker label="Wait for" value="PT5M" onChange={() => {}} />)
    expect(screen.getByRole('spinbutton', { name: 'Wait for: how many' })).toHaveValue(5)
    expect(screen.getByRole('combobox', { name: 'Wait for: unit' })).toHaveValue('minutes')
  })

  it('offers the raw text for a duration the picker cannot show', () => {
    render(<DurationPicker label="Wait for" value="P1DT" onChange={() => {}} />)
    expect(screen.getByRole('textbox', { name: 'Wait for' })).toHaveValue('P1DT')
  })
})

import { fireEvent, render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { useState } from 'react'
import { describe, expect, it, vi } from 'vitest'
import { describeUntil, describeWeekdays, normaliseWeekdays, toggleWeekday, type Until } from '../lib/schedule'
import { UntilPicker } from './UntilPicker'

function Harness({ initial, onChange }: { initial?: Partial<Until>; onChange: (v: Until) => void }) {
  const [value, setValue] = useState(initial)
  return (
    <UntilPicker
      label="Wait until"
      value={value}
      onChange={(v) => {
        setValue(v)
        onChange(v)
      }}
    />
  )
}

describe('weekdays', () => {
  it('treats no list as every day and keeps week order', () => {
    expect(toggleWeekday(undefined, 'sun')).toEqual(['mon', 'tue', 'wed', 'thu', 'fri', 'sat'])
    expect(toggleWeekday(['fri', 'mon'], 'wed')).toEqual(['mon', 'wed', 'fri'])
    expect(toggleWeekday(['mon', 'tue', 'wed', 'thu', 'fri', 'sat'], 'sun')).toBeUndefined()
    expect(normaliseWeekdays(['sun', 'sat', 'fri', 'thu', 'wed', 'tue', 'mon'])).toBeUndefined()
  })

  it('never leaves no day at all', () => {
    expect(toggleWeekday(['tue'], 'tue')).toEqual(['tue'])
  })

  it('says the days in words', () => {
    expect(describeWeekdays(undefined)).toBe('every day')
    expect(describeWeekdays(['mon', 'tue', 'wed', 'thu', 'fri'])).toBe('on weekdays')
    expect(describeWeekdays(['sat', 'sun'])).toBe('at the weekend')
    expect(describeWeekdays(['mon', 'wed', 'fri'])).toBe('on Monday, Wednesday and Friday')
    expect(describeUntil({ time: '09:00', weekdays: ['mon'], timezone: 'Europe/Rome' })).toBe('09:00 on Monday, in Europe/Rome')
  })
})

describe('UntilPicker', () => {
  it('writes the time and the chosen days', async () => {
    const onChange = vi.fn()
    render(<Harness initial={{ time: '09:00' }} onChange={onChange} />)
    expect(screen.getByRole('checkbox', { name: 'Saturday' })).toBeChecked()
    await userEvent.click(screen.getByRole('checkbox', { name: 'Saturday' }))
    await userEvent.click(screen.getByRole('checkbox', { name: 'Sunday' }))
    expect(onChange).toHaveBeenLastCalledWith({ time: '09:00', weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'] })
    fireEvent.change(screen.getByLabelText('Time of day'), { target: { value: '18:30' } })
    expect(onChange).toHaveBeenLastCalledWith({ time: '18:30', weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'] })
    expect(screen.getByText(/Waits until 18:30 on weekdays, in the contact's time zone/)).toBeInTheDocument()
  })

  it('reads a stored value and chooses a fixed time zone', async () => {
    const onChange = vi.fn()
    render(<Harness initial={{ time: '07:15', weekdays: ['sat', 'sun'] }} onChange={onChange} />)
    expect(screen.getByLabelText('Time of day')).toHaveValue('07:15')
    expect(screen.getByRole('checkbox', { name: 'Monday' })).not.toBeChecked()
    expect(screen.getByRole('checkbox', { name: 'Sunday' })).toBeChecked()
    await userEvent.selectOptions(screen.getByLabelText('Time zone'), 'other')
    expect(onChange).toHaveBeenLastCalledWith({ time: '07:15', weekdays: ['sat', 'sun'], timezone: 'UTC' })
    await userEvent.selectOptions(screen.getByLabelText('Time zone'), 'contact')
    expect(onChange).toHaveBeenLastCalledWith({ time: '07:15', weekdays: ['sat', 'sun'] })
  })
})

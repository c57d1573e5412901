import { render, screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { useState } from 'react'
import { describe, expect, it, vi } from 'vitest'
import { addItem, moveItem, removeItem } from '../lib/channels'
import { ChannelPicker } from './ChannelPicker'

const OPTIONS = ['chat', 'email', 'push', 'sms', 'voice'] // as the schema lists them

function Harness({ initial, onChange }: { initial: string[]; onChange: (v: string[]) => void }) {
  const [value, setValue] = useState(initial)
  return (
    <ChannelPicker
      label="Channels, in order"
      value={value}
      options={OPTIONS}
      onChange={(v) => {
        setValue(v)
        onChange(v)
      }}
    />
  )
}

function shownOrder(): string[] {
  const list = screen.getByRole('list', { name: 'Channels, in order' })
  return within(list)
    .getAllByRole('listitem')
    .map((item) => item.querySelector('.channel-name')!.textContent!)
}

describe('ordered channel operations', () => {
  it('moves, adds and removes without changing the rest of the order', () => {
    expect(moveItem(['a', 'b', 'c'], 2, -1)).toEqual(['a', 'c', 'b'])
    expect(moveItem(['a', 'b', 'c'], 0, -1)).toEqual(['a', 'b', 'c'])
    expect(moveItem(['a', 'b', 'c'], 0, 5)).toEqual(['b', 'c', 'a'])
    expect(addItem(['a'], 'a')).toEqual(['a'])
    expect(addItem(['a'], 'b')).toEqual(['a', 'b'])
    expect(removeItem(['a', 'b', 'c'], 'b')).toEqual(['a', 'c'])
  })
})

describe('ChannelPicker', () => {
  it('shows the channels in the stored order, not the schema order', () => {
    render(<Harness initial={['push', 'sms', 'email']} onChange={() => {}} />)
    expect(shownOrder()).toEqual(['Push notification', 'SMS', 'Email'])
  })

  it('reorders, adds and removes, writing the order as a list', async () => {
    const onChange = vi.fn()
    render(<Harness initial={['email', 'push']} onChange={onChange} />)
    await userEvent.click(screen.getByRole('button', { name: 'Move Push notification up' }))
    expect(onChange).toHaveBeenLastCalledWith(['push', 'email'])
    await userEvent.click(screen.getByRole('button', { name: 'Add SMS' }))
    expect(onChange).toHaveBeenLastCalledWith(['push', 'email', 'sms'])
    await userEvent.click(screen.getByRole('button', { name: 'Move Push notification down' }))
    expect(onChange).toHaveBeenLastCalledWith(['email', 'push', 'sms'])
    await userEvent.click(screen.getByRole('button', { name: 'Remove Email' }))
    expect(onChange).toHaveBeenLastCalledWith(['push', 'sms'])
    expect(shownOrder()).toEqual(['Push notification', 'SMS'])
  })

  it('cannot move the first up or the last down, and offers only unused channels', () => {
    render(<Harness initial={['email', 'sms']} onChange={() => {}} />)
    expect(screen.getByRole('button', { name: 'Move Email up' })).toBeDisabled()
    expect(screen.getByRole('button', { name: 'Move SMS down' })).toBeDisabled()
    expect(screen.queryByRole('button', { name: 'Add Email' })).toBeNull()
    expect(screen.getByRole('button', { name: 'Add Voice call' })).toBeInTheDocument()
  })
})

// Channels in the order to try them: add, remove, move up and down.
import { addItem, channelName, moveItem, removeItem } from '../lib/channels'

interface Props {
  label: string
  value: string[]
  options: string[]
  onChange: (value: string[]) => void
  help?: string
}

const PREFERRED_ORDER = ['email', 'sms', 'push', 'voice', 'chat']

export function ChannelPicker({ label, value, options, onChange, help }: Props) {
  const ordered = [...options].sort((a, b) => PREFERRED_ORDER.indexOf(a) - PREFERRED_ORDER.indexOf(b))
  const available = ordered.filter((option) => !value.includes(option))
  return (
    <fieldset className="field channels">
      <legend>{label}</legend>
      {value.length === 0 ? (
        <p className="muted">No channel yet: add at least one.</p>
      ) : (
        <ol aria-label={label} className="channel-list">
          {value.map((channel, index) => (
            <li key={channel}>
              <span className="channel-rank" aria-hidden="true">
                {index + 1}
              </span>
              <span className="channel-name">{channelName(channel)}</span>
              <button type="button" className="icon" aria-label={`Move ${channelName(channel)} up`} disabled={index === 0} onClick={() => onChange(moveItem(value, index, -1))}>
                ↑
              </button>
              <button
                type="button"
                className="icon"
                aria-label={`Move ${channelName(channel)} down`}
                disabled={index === value.length - 1}
                onClick={() => onChange(moveItem(value, index, 1))}
              >
                ↓
              </button>
              <button type="button" className="icon" aria-label={`Remove ${channelName(channel)}`} onClick={() => onChange(removeItem(value, channel))}>
                ×
              </button>
            </li>
          ))}
        </ol>
      )}
      {available.length > 0 && (
        <div className="channel-add">
          <span className="muted">Add:</span>
          {available.map((channel) => (
            <button key={channel} type="button" className="small" aria-label={`Add ${channelName(channel)}`} onClick={() => onChange(addItem(value, channel))}>
              + {channelName(channel)}
            </button>
          ))}
        </div>
      )}
      {help && <p className="help">{help}</p>}
    </fieldset>
  )
}

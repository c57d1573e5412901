// "Until 09:00 on weekdays, in the contact's time zone".
import { useId, useMemo } from 'react'
import { describeUntil, hasWeekday, isValidTime, toggleWeekday, WEEKDAY_NAMES, WEEKDAYS, type Until } from '../lib/schedule'

interface Props {
  label: string
  value: Partial<Until> | undefined
  onChange: (value: Until) => void
}

function zones(): string[] {
  try {
    return (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? []
  } catch {
    return []
  }
}

export function UntilPicker({ label, value, onChange }: Props) {
  const id = useId()
  const until: Until = { time: value?.time ?? '09:00', weekdays: value?.weekdays, timezone: value?.timezone }
  const zoneList = useMemo(() => zones(), [])
  const emit = (patch: Partial<Until>) => {
    const next: Until = { ...until, ...patch }
    const clean: Until = { time: next.time }
    if (next.weekdays) clean.weekdays = next.weekdays
    if (next.timezone && next.timezone !== 'contact') clean.timezone = next.timezone
    onChange(clean)
  }
  const contactZone = !until.timezone || until.timezone === 'contact'
  return (
    <fieldset className="field until">
      <legend>{label}</legend>
      <div className="row">
        <label htmlFor={`${id}-time`}>Time of day</label>
        <input id={`${id}-time`} type="time" value={until.time} required onChange={(e) => emit({ time: e.target.value })} />
      </div>
      {!isValidTime(until.time) && <p className="error">Choose a time, e.g. 09:00.</p>}
      <div className="weekdays" role="group" aria-label="On these days">
        {WEEKDAYS.map((day) => (
          <label key={day} className={`weekday${hasWeekday(until.weekdays, day) ? ' on' : ''}`} title={WEEKDAY_NAMES[day]}>
            <input type="checkbox" aria-label={WEEKDAY_NAMES[day]} checked={hasWeekday(until.weekdays, day)} onChange={() => emit({ weekdays: toggleWeekday(until.weekdays, day) })} />
            <span aria-hidden="true">{WEEKDAY_NAMES[day].slice(0, 3)}</span>
          </label>
        ))}
      </div>
      <div className="row">
        <label htmlFor={`${id}-zone`}>Time zone</label>
        <select id={`${id}-zone`} value={contactZone ? 'contact' : 'other'} onChange={(e) => emit({ timezone: e.target.value === 'contact' ? 'contact' : 'UTC' })}>
          <option value="contact">The contact's own time zone</option>
          <option value="other">One time zone for everyone</option>
        </select>
      </div>
      {!contactZone && (
        <div className="row">
          <label htmlFor={`${id}-iana`}>Which time zone</label>
          <input id={`${id}-iana`} list={`${id}-zones`} value={until.timezone ?? ''} onChange={(e) => emit({ timezone: e.target.value })} />
          <datalist id={`${id}-zones`}>
            {zoneList.map((zone) => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
        </div>
      )}
      <p className="help" aria-live="polite">
        Waits until {describeUntil(until)}.
      </p>
    </fieldset>
  )
}

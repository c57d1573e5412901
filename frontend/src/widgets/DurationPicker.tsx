// "Wait 2 days": amounts and units instead of ISO 8601 (`P2D`), which is what gets stored.
import { useId } from 'react'
import {
  describeDuration,
  DURATION_UNITS,
  formatDuration,
  parseDuration,
  type DurationPart,
  type DurationUnit,
} from '../lib/duration'
import { useSynced } from './useSynced'

interface Row {
  amount: string
  unit: DurationUnit
}

interface Props {
  label: string
  value: string | undefined
  onChange: (value: string | undefined) => void
  help?: string
}

function toRows(value: string | undefined): Row[] | null {
  if (!value) return [{ amount: '', unit: 'days' }]
  const parts = parseDuration(value)
  return parts ? parts.map((part) => ({ amount: String(part.amount), unit: part.unit })) : null
}

function fromRows(rows: Row[] | null): string | undefined {
  if (!rows) return undefined
  const parts: DurationPart[] = rows.map((row) => ({ amount: Number(row.amount), unit: row.unit }))
  return formatDuration(parts) || undefined
}

const UNIT_WORDS: Record<DurationUnit, string> = {
  seconds: 'seconds',
  minutes: 'minutes',
  hours: 'hours',
  days: 'days',
  weeks: 'weeks',
  months: 'months',
  years: 'years',
}

export function DurationPicker({ label, value, onChange, help }: Props) {
  const id = useId()
  const [rows, setRows] = useSynced<string | undefined, Row[] | null>(value, toRows, fromRows, onChange)

  if (rows === null) {
    return (
      <div className="field">
        <label htmlFor={id}>{label}</label>
        <input id={id} value={value ?? ''} onChange={(e) => onChange(e.target.value || undefined)} />
        <p className="help">
          Written as an ISO 8601 duration. <button type="button" className="link" onClick={() => setRows([{ amount: '1', unit: 'days' }])}>Use the picker</button>
        </p>
      </div>
    )
  }

  const change = (index: number, patch: Partial<Row>) =>
    setRows(rows.map((row, i) => (i === index ? { ...row, ...patch } : row)))
  const used = new Set(rows.map((row) => row.unit))
  const nextUnit = DURATION_UNITS.find((unit) => !used.has(unit))

  return (
    <fieldset className="field duration">
      <legend>{label}</legend>
      {rows.map((row, index) => (
        <div className="duration-row" key={index}>
          <input
            type="number"
            min={0}
            step={row.unit === 'seconds' ? 'any' : 1}
            inputMode="numeric"
            aria-label={`${label}: how many`}
            value={row.amount}
            onChange={(e) => change(index, { amount: e.target.value })}
          />
          <select aria-label={`${label}: unit`} value={row.unit} onChange={(e) => change(index, { unit: e.target.value as DurationUnit })}>
            {DURATION_UNITS.map((unit) => (
              <option key={unit} value={unit} disabled={unit !== row.unit && used.has(unit)}>
                {UNIT_WORDS[unit]}
              </option>
            ))}
          </select>
          {rows.length > 1 && (
            <button type="button" className="icon" aria-label={`Remove ${UNIT_WORDS[row.unit]}`} onClick={() => setRows(rows.filter((_, i) => i !== index))}>
              ×
            </button>
          )}
        </div>
      ))}
      <div className="duration-foot">
        <span className="muted" aria-live="polite">
          {value ? describeDuration(value) : 'Not set'}
        </span>
        {nextUnit && (
          <button type="button" className="link" onClick={() => setRows([...rows, { amount: '', unit: nextUnit }])}>
            + another unit
          </button>
        )}
      </div>
      {help && <p className="help">{help}</p>}
    </fieldset>
  )
}

// One aggregate condition of a segment rule, as a sentence with blanks: "has done [purchased]
// [at least] [3] times [in the last 90 days], only events where [total] [is more than] [50]".
import { useId, useState } from 'react'
import { fieldLabel, newRule, type Rule } from '../lib/condition'
import {
  AGGREGATE_TYPES,
  COUNT_WORDS,
  DAYS_AGO_WORDS,
  EVENT_FIELDS,
  newAggregate,
  type Aggregate,
  type AggregateType,
  type CountOperator,
} from '../lib/segmentRule'
import { RuleEditor } from './ConditionBuilder'

interface Props {
  item: Aggregate
  onChange: (item: Aggregate) => void
  onRemove: () => void
  /** Event names to suggest, and segment keys to choose from. */
  events?: string[]
  segments?: Array<{ key: string; name: string }>
}

/** A whole-number box that lets the box be emptied and retyped: the number changes when valid. */
function NumberBox({ label, value, min, onChange }: { label: string; value: number; min: number; onChange: (n: number) => void }) {
  const [draft, setDraft] = useState<string | null>(null)
  return (
    <input
      type="number"
      min={min}
      step={1}
      aria-label={label}
      value={draft ?? String(value)}
      onChange={(e) => {
        setDraft(e.target.value)
        const n = Number(e.target.value)
        if (e.target.value.trim() !== '' && Number.isInteger(n) && n >= min) onChange(n)
      }}
      onBlur={() => setDraft(null)}
    />
  )
}

export function AggregateEditor({ item, onChange, onRemove, events = [], segments = [] }: Props) {
  const eventsId = useId()
  const fieldsId = useId()
  const what = item.type === 'inSegment' ? `segment ${item.segment || '…'}` : `event ${item.event || '…'}`
  const whereRules = item.where.rules.filter((rule): rule is Rule => rule.kind === 'rule')
  const setWhere = (rules: Rule[]) => onChange({ ...item, where: { ...item.where, rules } })
  return (
    <div className="cond-agg" role="group" aria-label={`Condition on ${what}`}>
      <select
        aria-label="Kind of condition"
        value={item.type}
        onChange={(e) => onChange(newAggregate(e.target.value as AggregateType, item))}
      >
        {AGGREGATE_TYPES.map((type) => (
          <option key={type.type} value={type.type}>
            {type.label}
          </option>
        ))}
      </select>

      {item.type === 'inSegment' ? (
        <>
          <select aria-label="Segment" value={item.segment} onChange={(e) => onChange({ ...item, segment: e.target.value })}>
            <option value="">Choose a segment…</option>
            {segments.map((segment) => (
              <option key={segment.key} value={segment.key}>
                {segment.name} ({segment.key})
              </option>
            ))}
            {item.segment && !segments.some((s) => s.key === item.segment) && <option value={item.segment}>{item.segment}</option>}
          </select>
          <label className="check">
            <input
              type="checkbox"
              checked={item.op === 'ne'}
              onChange={(e) => onChange({ ...item, op: e.target.checked ? 'ne' : 'eq' })}
            />
            not
          </label>
        </>
      ) : (
        <>
          <datalist id={eventsId}>
            {events.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
          <input
            aria-label="Event name"
            list={eventsId}
            placeholder="purchased"
            value={item.event}
            onChange={(e) => onChange({ ...item, event: e.target.value.trim() })}
          />
          {item.type === 'count' && (
            <>
              <select aria-label="How many times" value={item.op} onChange={(e) => onChange({ ...item, op: e.target.value as CountOperator })}>
                {Object.entries(COUNT_WORDS).map(([op, words]) => (
                  <option key={op} value={op}>
                    {words}
                  </option>
                ))}
              </select>
              <NumberBox label="Number of times" min={0} value={item.value} onChange={(value) => onChange({ ...item, value })} />
              <span>times</span>
            </>
          )}
          {item.type === 'lastDone' && (
            <>
              <select aria-label="How long ago" value={item.op} onChange={(e) => onChange({ ...item, op: e.target.value as CountOperator })}>
                {(['gt', 'gte', 'lt', 'lte'] as const).map((op) => (
                  <option key={op} value={op}>
                    {DAYS_AGO_WORDS[op]}
                  </option>
                ))}
              </select>
              <NumberBox label="Days ago" min={0} value={item.value} onChange={(value) => onChange({ ...item, value })} />
              <span>days ago</span>
            </>
          )}
          {(item.type === 'count' || item.type === 'notDone') && (
            <>
              <select
                aria-label="When"
                value={item.days === null ? 'ever' : 'window'}
                onChange={(e) => onChange({ ...item, days: e.target.value === 'ever' ? null : 30 })}
              >
                <option value="window">in the last</option>
                <option value="ever">ever</option>
              </select>
              {item.days !== null && (
                <>
                  <NumberBox label="Number of days" min={1} value={item.days} onChange={(days) => onChange({ ...item, days })} />
                  <span>days</span>
                </>
              )}
            </>
          )}
        </>
      )}
      <button type="button" className="icon" aria-label={`Remove condition on ${what}`} onClick={onRemove}>
        ×
      </button>

      {item.type !== 'inSegment' && (
        <div className="cond-where">
          <datalist id={fieldsId}>
            {EVENT_FIELDS.map((field) => (
              <option key={field} value={field}>
                {fieldLabel(field)}
              </option>
            ))}
          </datalist>
          {whereRules.length > 0 && <span className="help">Only events where:</span>}
          {whereRules.map((rule, index) => (
            <RuleEditor
              key={index}
              rule={rule}
              listId={fieldsId}
              onChange={(next) => setWhere(whereRules.map((r, i) => (i === index ? next : r)))}
              onRemove={() => setWhere(whereRules.filter((_, i) => i !== index))}
            />
          ))}
          <button type="button" className="link" onClick={() => setWhere([...whereRules, { ...newRule('properties.total'), op: 'gt', value: 0 }])}>
            {whereRules.length ? 'And where…' : 'Only events where…'}
          </button>
        </div>
      )}
    </div>
  )
}

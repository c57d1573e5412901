// A visual condition builder that writes JsonLogic: "contacts whose Country is IT and ...".
import { useId, useState, type ComponentType } from 'react'
import {
  describeCondition,
  emptyGroup,
  fieldLabel,
  formatCondition,
  newRule,
  operatorInfo,
  OPERATORS,
  parseCondition,
  valueFromText,
  valueToText,
  type Extension,
  type Group,
  type Item,
  type Operator,
  type Rule,
  type Scalar,
} from '../lib/condition'
import type { Aggregate } from '../lib/segmentRule'
import { useSynced } from './useSynced'

/** Items another rule language adds (segment rules: event aggregates), with their editors. */
export interface BuilderExtension {
  logic: Extension
  Editor: ComponentType<{ item: Aggregate; onChange: (item: Aggregate) => void; onRemove: () => void }>
  adders: Array<{ label: string; make: () => Aggregate }>
}

interface Props {
  label: string
  value: unknown
  onChange: (value: unknown) => void
  fields: string[]
  defaultField?: string
  help?: string
  extension?: BuilderExtension
}

type Match = 'all' | 'any' | 'none' | 'notall'

function matchOf(group: Group): Match {
  if (group.not) return group.combinator === 'or' ? 'none' : 'notall'
  return group.combinator === 'and' ? 'all' : 'any'
}

function withMatch(group: Group, match: Match): Group {
  return {
    ...group,
    combinator: match === 'all' || match === 'notall' ? 'and' : 'or',
    not: match === 'none' || match === 'notall',
  }
}

export function ConditionBuilder({ label, value, onChange, fields, defaultField, help, extension }: Props) {
  const listId = useId()
  const logic = extension?.logic
  const [group, setGroup] = useSynced<unknown, Group | null>(
    value,
    (v) => parseCondition(v, logic),
    (g) => (g ? formatCondition(g, logic) : value),
    onChange,
  )
  const [jsonText, setJsonText] = useState<string | null>(null)
  const [jsonError, setJsonError] = useState('')

  if (group === null || jsonText !== null) {
    const text = jsonText ?? JSON.stringify(value, null, 2)
    return (
      <fieldset className="field condition">
        <legend>{label}</legend>
        <p className="help">This condition is written as JsonLogic{group === null ? ', in a form the builder cannot show' : ''}.</p>
        <textarea
          aria-label={`${label} (JsonLogic)`}
          rows={6}
          className="mono"
          value={text}
          onChange={(e) => {
            setJsonText(e.target.value)
            try {
              const parsed = e.target.value.trim() ? JSON.parse(e.target.value) : null
              setJsonError('')
              onChange(parsed)
            } catch {
              setJsonError('This is not valid JSON yet.')
            }
          }}
        />
        {jsonError && <p className="error">{jsonError}</p>}
        <button
          type="button"
          className="link"
          onClick={() => {
            setJsonText(null)
            if (parseCondition(value, logic) === null) setGroup(emptyGroup())
          }}
        >
          {parseCondition(value, logic) === null ? 'Start again with the builder' : 'Back to the builder'}
        </button>
      </fieldset>
    )
  }

  const summary = describeCondition(formatCondition(group, logic), logic)
  return (
    <fieldset className="field condition">
      <legend>{label}</legend>
      <datalist id={listId}>
        {fields.map((field) => (
          <option key={field} value={field}>
            {fieldLabel(field)}
          </option>
        ))}
      </datalist>
      <GroupEditor group={group} onChange={setGroup} listId={listId} defaultField={defaultField ?? fields[0]} depth={0} extension={extension} />
      <p className="help" aria-live="polite">
        {summary ? `In words: ${summary}.` : 'No condition: everyone goes on.'}
      </p>
      {help && <p className="help">{help}</p>}
      <button type="button" className="link" onClick={() => setJsonText(JSON.stringify(formatCondition(group, logic), null, 2))}>
        Edit as JsonLogic
      </button>
    </fieldset>
  )
}

interface GroupProps {
  group: Group
  onChange: (group: Group) => void
  onRemove?: () => void
  listId: string
  defaultField: string | undefined
  depth: number
  extension?: BuilderExtension
}

function GroupEditor({ group, onChange, onRemove, listId, defaultField, depth, extension }: GroupProps) {
  const match = matchOf(group)
  const replace = (index: number, item: Item) =>
    onChange({ ...group, rules: group.rules.map((r, i) => (i === index ? item : r)) })
  const remove = (index: number) => onChange({ ...group, rules: group.rules.filter((_, i) => i !== index) })
  return (
    <div className={`cond-group depth-${depth}`} role="group" aria-label={depth === 0 ? 'Conditions' : 'Group of conditions'}>
      {group.rules.length > 1 || depth > 0 || group.not ? (
        <div className="cond-head">
          <span>Match</span>
          <select aria-label="Match all or any" value={match} onChange={(e) => onChange(withMatch(group, e.target.value as Match))}>
            <option value="all">all of these</option>
            <option value="any">any of these</option>
            <option value="none">none of these</option>
            {match === 'notall' && <option value="notall">not all of these</option>}
          </select>
          {onRemove && (
            <button type="button" className="link danger" onClick={onRemove}>
              Remove group
            </button>
          )}
        </div>
      ) : null}
      {group.rules.map((item, index) =>
        item.kind === 'rule' ? (
          <RuleEditor key={index} rule={item} onChange={(r) => replace(index, r)} onRemove={() => remove(index)} listId={listId} />
        ) : item.kind === 'aggregate' ? (
          extension && <extension.Editor key={index} item={item} onChange={(a) => replace(index, a)} onRemove={() => remove(index)} />
        ) : (
          <GroupEditor
            key={index}
            group={item}
            onChange={(g) => replace(index, g)}
            onRemove={() => remove(index)}
            listId={listId}
            defaultField={defaultField}
            depth={depth + 1}
            extension={extension}
          />
        ),
      )}
      <div className="cond-actions">
        <button type="button" className="small" onClick={() => onChange({ ...group, rules: [...group.rules, newRule(defaultField)] })}>
          Add condition
        </button>
        {extension?.adders.map((adder) => (
          <button key={adder.label} type="button" className="small" onClick={() => onChange({ ...group, rules: [...group.rules, adder.make()] })}>
            {adder.label}
          </button>
        ))}
        {depth < 2 && (
          <button
            type="button"
            className="small ghost"
            onClick={() =>
              onChange({ ...group, rules: [...group.rules, { ...emptyGroup(), combinator: 'or', rules: [newRule(defaultField)] }] })
            }
          >
            Add group
          </button>
        )}
      </div>
    </div>
  )
}

interface RuleProps {
  rule: Rule
  onChange: (rule: Rule) => void
  onRemove: () => void
  listId: string
}

export function RuleEditor({ rule, onChange, onRemove, listId }: RuleProps) {
  const info = operatorInfo(rule.op)
  const changeOp = (op: Operator) => {
    const arity = operatorInfo(op).arity
    let value: Scalar | Scalar[] = rule.value
    if (arity === 0) value = null
    else if (arity === 2) value = Array.isArray(rule.value) ? [rule.value[0] ?? '', rule.value[1] ?? ''] : [rule.value, '']
    else if (arity === 'list') value = Array.isArray(rule.value) ? rule.value : rule.value === null || rule.value === '' ? [] : [rule.value]
    else value = Array.isArray(rule.value) ? (rule.value[0] ?? '') : (rule.value ?? '')
    onChange({ ...rule, op, value })
  }
  return (
    <div className="cond-rule" role="group" aria-label={`Condition on ${fieldLabel(rule.field) || 'a field'}`}>
      <input
        className="cond-field"
        aria-label="Field"
        list={listId}
        value={rule.field}
        placeholder="contact.attributes.country"
        onChange={(e) => onChange({ ...rule, field: e.target.value.trim() })}
      />
      <select aria-label="Comparison" value={rule.op} onChange={(e) => changeOp(e.target.value as Operator)}>
        {OPERATORS.map((op) => (
          <option key={op.op} value={op.op}>
            {op.label}
          </option>
        ))}
      </select>
      {info.arity === 1 && (
        <input aria-label="Value" value={valueToText(rule.value as Scalar)} onChange={(e) => onChange({ ...rule, value: valueFromText(e.target.value) })} />
      )}
      {info.arity === 2 && Array.isArray(rule.value) && (
        <span className="cond-between">
          <input aria-label="From" value={valueToText(rule.value[0])} onChange={(e) => onChange({ ...rule, value: [valueFromText(e.target.value), (rule.value as Scalar[])[1]] })} />
          <span>and</span>
          <input aria-label="To" value={valueToText(rule.value[1])} onChange={(e) => onChange({ ...rule, value: [(rule.value as Scalar[])[0], valueFromText(e.target.value)] })} />
        </span>
      )}
      {info.arity === 'list' && (
        <ListValue values={Array.isArray(rule.value) ? rule.value : []} onChange={(values) => onChange({ ...rule, value: values })} />
      )}
      <button type="button" className="icon" aria-label={`Remove condition on ${fieldLabel(rule.field) || 'a field'}`} onClick={onRemove}>
        ×
      </button>
    </div>
  )
}

function ListValue({ values, onChange }: { values: Scalar[]; onChange: (values: Scalar[]) => void }) {
  const [text, setText] = useState(values.map(valueToText).join(', '))
  return (
    <input
      aria-label="Values, separated by commas"
      value={text}
      onChange={(e) => {
        setText(e.target.value)
        onChange(
          e.target.value
            .split(',')
            .map((part) => part.trim())
            .filter(Boolean)
            .map(valueFromText),
        )
      }}
    />
  )
}

// The panel beside the canvas: the selected step's settings, a connection, or the flow's own.
import { useId } from 'react'
import { channelName, isChannel } from '../lib/channels'
import { displayName } from './document'
import { FORM_HINTS } from './formHints'
import { useFormContext } from './formContext'
import { SchemaForm } from './SchemaForm'
import { useEditor } from './store'

export function SidePanel() {
  const selectedNodes = useEditor((s) => s.nodes.filter((n) => n.selected).map((n) => n.id).join('\n'))
  const selectedEdge = useEditor((s) => s.edges.find((e) => e.selected)?.id)
  const ids = selectedNodes ? selectedNodes.split('\n') : []
  if (ids.length === 1) return <NodeSettings key={ids[0]} id={ids[0]} />
  if (ids.length > 1) return <MultiSelection count={ids.length} />
  if (selectedEdge) return <EdgeSettings key={selectedEdge} id={selectedEdge} />
  return <FlowSettings />
}

function NodeSettings({ id }: { id: string }) {
  // The data only (not the node): moving the node does not redraw its form.
  const data = useEditor((s) => s.nodes.find((n) => n.id === id)?.data)
  const kind = useEditor((s) => (data ? s.kinds[data.type] : undefined))
  const problems = useEditor((s) => s.problemIndex.byNode[id])
  const updateConfig = useEditor((s) => s.updateConfig)
  const updateLabel = useEditor((s) => s.updateLabel)
  const deleteSelection = useEditor((s) => s.deleteSelection)
  const contacts = useEditor((s) => s.contacts)
  const sampleId = useEditor((s) => s.sampleContactId)
  const setSample = useEditor((s) => s.setSampleContact)
  const context = useFormContext()
  const labelId = useId()
  if (!data) return null
  const node = { id, data }
  const name = displayName(node.id, node.data.label)
  const hasMessages = node.data.type === 'send'
  return (
    <section className="side-section" aria-label={`Settings of ${name}`}>
      <h2>{kind?.label ?? node.data.type}</h2>
      {kind && <p className="help">{kind.description}</p>}
      {!kind && <p className="error-box">This kind of step is not known to this server; its settings are kept as they are.</p>}
      <div className="field">
        <label htmlFor={labelId}>Name on the canvas</label>
        <input id={labelId} value={node.data.label ?? ''} placeholder={displayName(node.id, undefined)} onChange={(e) => updateLabel(id, e.target.value)} />
      </div>
      {problems && problems.length > 0 && (
        <div className="problems-box" role="region" aria-label={`Problems with ${name}`}>
          <strong>To fix:</strong>
          <ul>
            {problems.map((problem, index) => (
              <li key={index}>{problem}</li>
            ))}
          </ul>
        </div>
      )}
      {hasMessages && contacts.length > 0 && (
        <div className="field">
          <label htmlFor={`${labelId}-sample`}>Preview messages for</label>
          <select id={`${labelId}-sample`} value={sampleId ?? ''} onChange={(e) => setSample(e.target.value)}>
            {contacts.map((contact) => (
              <option key={contact.id} value={contact.id}>
                {typeof contact.attributes?.first_name === 'string' ? `${contact.attributes.first_name} (${contact.id})` : contact.id}
              </option>
            ))}
          </select>
        </div>
      )}
      {kind && (
        <SchemaForm
          schema={kind.schema}
          config={node.data.config}
          onChange={(config) => updateConfig(id, config)}
          hints={FORM_HINTS[node.data.type] ?? {}}
          context={context}
        />
      )}
      <button type="button" className="danger" onClick={deleteSelection}>
        Delete this step
      </button>
    </section>
  )
}

function MultiSelection({ count }: { count: number }) {
  const deleteSelection = useEditor((s) => s.deleteSelection)
  const copy = useEditor((s) => s.copySelection)
  return (
    <section className="side-section" aria-label="Selection">
      <h2>{count} steps selected</h2>
      <p className="help">Drag any of them to move them together. Ctrl+C copies them, Ctrl+V pastes a copy.</p>
      <div className="button-row">
        <button type="button" onClick={() => copy()}>
          Copy
        </button>
        <button type="button" className="danger" onClick={deleteSelection}>
          Delete {count} steps
        </button>
      </div>
    </section>
  )
}

function EdgeSettings({ id }: { id: string }) {
  const edge = useEditor((s) => s.edges.find((e) => e.id === id))
  const nodes = useEditor((s) => s.nodes)
  const problems = useEditor((s) => s.problemIndex.byEdge[id])
  const deleteEdge = useEditor((s) => s.deleteEdge)
  if (!edge) return null
  const from = nodes.find((n) => n.id === edge.source)
  const to = nodes.find((n) => n.id === edge.target)
  const port = edge.data?.port ?? ''
  return (
    <section className="side-section" aria-label="Connection">
      <h2>Connection</h2>
      <p>
        From <strong>{from ? displayName(from.id, from.data.label) : edge.source}</strong> by{' '}
        <strong>{isChannel(port) ? channelName(port) : port}</strong> to <strong>{to ? displayName(to.id, to.data.label) : edge.target}</strong>.
      </p>
      {problems && (
        <div className="problems-box">
          <ul>
            {problems.map((p, i) => (
              <li key={i}>{p}</li>
            ))}
          </ul>
        </div>
      )}
      <button type="button" className="danger" onClick={() => deleteEdge(id)}>
        Delete this connection
      </button>
    </section>
  )
}

const ENTRY_WORDS: Record<string, string> = {
  once: 'Only once per contact, ever',
  single_active: 'Again later, but not while already in it',
  always: 'Every time the trigger happens',
}

function FlowSettings() {
  const meta = useEditor((s) => s.meta)
  const updateMeta = useEditor((s) => s.updateMeta)
  const count = useEditor((s) => s.nodes.length)
  const id = useId()
  const settings = meta.settings ?? {}
  const entry = typeof settings.entry === 'string' ? settings.entry : 'once'
  const timezone = typeof settings.timezone === 'string' ? settings.timezone : 'UTC'
  const setSetting = (key: string, value: string) => {
    const next: Record<string, unknown> = { ...settings, [key]: value }
    updateMeta({ settings: next })
  }
  return (
    <section className="side-section" aria-label="Flow settings">
      <h2>Flow settings</h2>
      {count === 0 && <p className="notice">Start with a Trigger from the list on the left: it decides who enters the flow.</p>}
      <p className="help">Select a step on the canvas to change its settings.</p>
      <div className="field">
        <label htmlFor={`${id}-desc`}>Description</label>
        <textarea id={`${id}-desc`} rows={3} value={meta.description} onChange={(e) => updateMeta({ description: e.target.value })} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-entry`}>A contact can enter</label>
        <select id={`${id}-entry`} value={entry} onChange={(e) => setSetting('entry', e.target.value)}>
          {Object.entries(ENTRY_WORDS).map(([value, words]) => (
            <option key={value} value={value}>
              {words}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-tz`}>Time zone for contacts without one</label>
        <input id={`${id}-tz`} value={timezone} onChange={(e) => setSetting('timezone', e.target.value)} />
      </div>
    </section>
  )
}

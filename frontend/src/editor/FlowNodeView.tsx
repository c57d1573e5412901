// A node on the canvas: its kind, name, settings in words, problems, counts, and one labelled
// handle per output port.
import { Handle, Position, useStore, useUpdateNodeInternals, type NodeProps } from '@xyflow/react'
import { memo, useEffect, useRef } from 'react'
import { useShallow } from 'zustand/react/shallow'
import { utcTime } from '../lib/format'
import { describeNode, portsFor } from '../lib/nodes'
import { displayName, type FlowNode } from './document'
import { useEditor } from './store'

const EMPTY: string[] = []

/** Below this zoom, text is too small to read: nodes draw only their name (and counts). */
export const COMPACT_ZOOM = 0.45
const compactSelector = (s: { transform: [number, number, number] }) => s.transform[2] < COMPACT_ZOOM

const SHORT: Record<string, string> = { email: 'Email', sms: 'SMS', push: 'Push', voice: 'Voice', chat: 'Chat' }

function portWords(port: string): string {
  return SHORT[port] ?? port
}

function FlowNodeViewInner({ id, data, selected }: NodeProps<FlowNode>) {
  // One subscription per node (a 200-node flow has 200 of them).
  const [kind, problems, count, showCounts, step, highlighting] = useEditor(
    useShallow((s) => [
      s.kinds[data.type],
      s.problemIndex.byNode[id] ?? EMPTY,
      s.counts?.[id],
      s.counts !== null,
      s.highlight?.steps[id],
      s.highlight !== null,
    ] as const),
  )
  const compact = useStore(compactSelector)
  const name = displayName(id, data.label)
  const ports = portsFor(kind, data.config)
  const summary = describeNode(data.type, data.config)
  // Ports come and go with the settings (a channel added): React Flow must learn of the new
  // handles even when the node keeps its size.
  const updateNodeInternals = useUpdateNodeInternals()
  const portKey = ports.join('\n')
  const shownPorts = useRef(portKey)
  useEffect(() => {
    if (shownPorts.current === portKey) return // React Flow measures new nodes itself
    shownPorts.current = portKey
    updateNodeInternals(id)
  }, [id, portKey, updateNodeInternals])
  const classes = [
    'flow-node',
    `kind-${data.type}`,
    selected ? 'selected' : '',
    problems.length ? 'has-problems' : '',
    highlighting ? (step ? 'on-path' : 'off-path') : '',
  ]
  // Wide enough for every port to have room for its label.
  const width = Math.max(240, ports.length * 58)
  if (compact) {
    // Far out, a big flow draws fast: the name in large type, the counts, the handles.
    return (
      <div className={`${classes.filter(Boolean).join(' ')} compact`} style={width > 240 ? { width } : undefined} title={summary}>
        {!kind?.is_trigger && <Handle type="target" position={Position.Top} id="in" className="handle-in" aria-label={`Input of ${name}`} />}
        <div className="node-title">{name}</div>
        {showCounts && (
          <span className="node-count" aria-label={`${count?.entered ?? 0} entered ${name}`}>
            {count?.entered ?? 0}
          </span>
        )}
        {problems.length > 0 && <span className="node-problem-dot" role="note" aria-label={`Problems with ${name}: ${problems.join(' ')}`}>!</span>}
        {ports.map((port, index) => (
          <Handle
            key={port}
            type="source"
            position={Position.Bottom}
            id={port}
            className="handle-out"
            style={{ left: `${((index + 0.5) / ports.length) * 100}%` }}
            aria-label={`${port} port of ${name}`}
          />
        ))}
      </div>
    )
  }
  return (
    <div className={classes.filter(Boolean).join(' ')} style={width > 240 ? { width } : undefined}>
      {!kind?.is_trigger && (
        <Handle type="target" position={Position.Top} id="in" className="handle-in" aria-label={`Input of ${name}`} />
      )}
      <div className="node-head">
        <span className="node-kind">{kind?.label ?? `Unknown kind "${data.type}"`}</span>
        {showCounts && (
          <span className="node-count" title="Contacts who reached this step" aria-label={`${count?.entered ?? 0} entered ${name}`}>
            {count?.entered ?? 0}
          </span>
        )}
      </div>
      <div className="node-title">{name}</div>
      {summary && <div className="node-summary">{summary}</div>}
      {problems.length > 0 && (
        <div className="node-problems" role="note" aria-label={`Problems with ${name}`}>
          <span aria-hidden="true">⚠ </span>
          {problems[0]}
          {problems.length > 1 && ` (+${problems.length - 1} more)`}
        </div>
      )}
      {step && (
        <div className="node-step" aria-label={`Step ${step.index} of the path: ${name} at ${utcTime(step.at)}`}>
          <span className="step-index">{step.index}</span> {utcTime(step.at)}
          {step.port ? ` → ${portWords(step.port)}` : ''}
          {step.reason ? ` (${step.reason.replace(/_/g, ' ')})` : ''}
        </div>
      )}
      {ports.length > 0 && (
        <div className="node-ports">
          {ports.map((port) => (
            <div className="port" key={port}>
              <span className="port-label">
                {portWords(port)}
                {showCounts && <span className="port-count" aria-label={`${count?.ports[port] ?? 0} left by ${port}`}> {count?.ports[port] ?? 0}</span>}
              </span>
              <Handle type="source" position={Position.Bottom} id={port} className="handle-out" aria-label={`${port} port of ${name}`} />
            </div>
          ))}
        </div>
      )}
    </div>
  )
}

export const FlowNodeView = memo(FlowNodeViewInner)

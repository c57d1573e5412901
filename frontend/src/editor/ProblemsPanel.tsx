// The summary of the compiler's problems; each one leads to the step it is about.
import { useReactFlow } from '@xyflow/react'
import { useState } from 'react'
import { displayName, sentence } from './document'
import { useEditor } from './store'

export function ProblemsPanel() {
  const problems = useEditor((s) => s.problems)
  const note = useEditor((s) => s.problemsNote)
  const nodes = useEditor((s) => s.nodes)
  const selectOnly = useEditor((s) => s.selectOnly)
  const flow = useReactFlow()
  const [open, setOpen] = useState(true)

  if (!problems.length) {
    return (
      <div className="problems-panel ok" role="region" aria-label="Problems in this flow">
        <span aria-hidden="true">✓</span> No problems: this flow is ready to publish.
      </div>
    )
  }
  const nameOf = (id: string) => {
    const node = nodes.find((n) => n.id === id)
    return node ? displayName(node.id, node.data.label) : id
  }
  const show = (id: string) => {
    const node = nodes.find((n) => n.id === id)
    if (!node) return
    selectOnly(id)
    void flow.setCenter(node.position.x + 120, node.position.y + 50, { zoom: Math.max(flow.getZoom(), 0.8), duration: 250 })
  }
  return (
    <div className={`problems-panel${note ? ' refused' : ''}`} role="region" aria-label="Problems in this flow">
      <button type="button" className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
        {problems.length === 1 ? '1 problem to fix' : `${problems.length} problems to fix`}
        {' '}before publishing
      </button>
      {note && <strong className="problems-note"> {note}</strong>}
      {open && (
        <ul>
          {problems.map((problem, index) => (
            <li key={index}>
              {problem.node ? (
                <button type="button" className="link" onClick={() => show(problem.node!)}>
                  {nameOf(problem.node)}
                </button>
              ) : problem.edge ? (
                <span className="muted">Connection {problem.edge}</span>
              ) : (
                <span className="muted">The flow</span>
              )}
              : {sentence(problem.message)}
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}

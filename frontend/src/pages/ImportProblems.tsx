// Why an import was refused: the problems, each next to the node or connection it concerns.
import type { Problem } from '../api/types'
import { Dialog } from '../components/Dialog'
import { displayName, sentence } from '../editor/document'

interface Props {
  file: string
  document: unknown
  error: string
  problems: Problem[]
  onClose: () => void
}

interface DocNodeLike {
  id?: unknown
  type?: unknown
  label?: unknown
}

export function ImportProblems({ file, document, error, problems, onClose }: Props) {
  const nodes: DocNodeLike[] =
    document && typeof document === 'object' && Array.isArray((document as { nodes?: unknown }).nodes)
      ? ((document as { nodes: DocNodeLike[] }).nodes.filter((n) => n && typeof n === 'object'))
      : []
  const byNode = new Map<string, string[]>()
  const other: Problem[] = []
  const ids = new Set(nodes.map((n) => String(n.id)))
  for (const problem of problems) {
    if (problem.node && ids.has(problem.node)) byNode.set(problem.node, [...(byNode.get(problem.node) ?? []), problem.message])
    else other.push(problem)
  }
  const nodesWithProblems = nodes.filter((n) => byNode.has(String(n.id)))
  return (
    <Dialog
      title="This flow could not be imported"
      onClose={onClose}
      wide
      actions={
        <button type="button" onClick={onClose} data-autofocus>
          Close
        </button>
      }
    >
      <p>
        Nothing was imported from <strong>{file}</strong>. {problems.length ? 'Fix these problems in the file and import it again.' : error}
      </p>
      {problems.length > 0 && (
        <ul className="import-problems" aria-label="Problems in the file">
          {nodesWithProblems.map((node) => (
            <li key={String(node.id)} className="import-node">
              <span className="import-node-name">
                {displayName(String(node.id), typeof node.label === 'string' ? node.label : undefined)}
                <span className="muted"> · {String(node.type ?? 'unknown kind')} · id “{String(node.id)}”</span>
              </span>
              <ul>
                {byNode.get(String(node.id))!.map((message, index) => (
                  <li key={index} className="problem-text">
                    {sentence(message)}
                  </li>
                ))}
              </ul>
            </li>
          ))}
          {other.map((problem, index) => (
            <li key={`o${index}`} className="import-node">
              <span className="import-node-name">
                {problem.edge ? `Connection ${problem.edge}` : problem.node ? `Node “${problem.node}”` : 'The flow'}
              </span>
              <ul>
                <li className="problem-text">{sentence(problem.message)}</li>
              </ul>
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  )
}

// The node kinds from GET /api/node-types: drag one onto the canvas, or click to add it.
import { useReactFlow } from '@xyflow/react'
import { useRef, useState, type PointerEvent as ReactPointerEvent } from 'react'
import { NODE_SIZE, useEditor } from './store'

const DRAG_THRESHOLD = 5

interface Ghost {
  label: string
  x: number
  y: number
}

export function Palette({ disabled }: { disabled?: boolean }) {
  const kinds = useEditor((s) => s.kindList)
  const addNode = useEditor((s) => s.addNode)
  const flow = useReactFlow()
  const [ghost, setGhost] = useState<Ghost | null>(null)
  const suppressClick = useRef(false)

  /** The free place nearest to `position`, on screen, where a new step overlaps no other. */
  function freeSpotNear(position: { x: number; y: number }, visible: { x: number; y: number; right: number; bottom: number }) {
    const boxes = useEditor.getState().nodes.map((n) => ({
      x: n.position.x,
      y: n.position.y,
      width: n.measured?.width ?? NODE_SIZE.width,
      height: n.measured?.height ?? NODE_SIZE.height + 20,
    }))
    const margin = 20
    const free = (x: number, y: number) =>
      boxes.every(
        (b) =>
          x + NODE_SIZE.width + margin <= b.x ||
          b.x + b.width + margin <= x ||
          y + NODE_SIZE.height + 20 + margin <= b.y ||
          b.y + b.height + margin <= y,
      )
    for (let ring = 0; ring < 12; ring++) {
      for (let dy = -ring; dy <= ring; dy++) {
        for (let dx = -ring; dx <= ring; dx++) {
          if (Math.max(Math.abs(dx), Math.abs(dy)) !== ring) continue
          const x = position.x + dx * (NODE_SIZE.width + 40)
          const y = position.y + dy * (NODE_SIZE.height + 50)
          const onScreen = x >= visible.x && y >= visible.y && x + NODE_SIZE.width <= visible.right && y + NODE_SIZE.height <= visible.bottom
          if (onScreen && free(x, y)) return { x, y }
        }
      }
    }
    return position
  }

  function addAtCentre(type: string) {
    const pane = document.querySelector('.react-flow')?.getBoundingClientRect()
    if (!pane) return
    const centre = flow.screenToFlowPosition({ x: pane.left + pane.width / 2, y: pane.top + pane.height / 2 })
    const topLeft = flow.screenToFlowPosition({ x: pane.left, y: pane.top })
    const bottomRight = flow.screenToFlowPosition({ x: pane.right, y: pane.bottom })
    const visible = { x: topLeft.x, y: topLeft.y, right: bottomRight.x, bottom: bottomRight.y }
    const id = addNode(type, freeSpotNear({ x: centre.x - NODE_SIZE.width / 2, y: centre.y - NODE_SIZE.height / 2 }, visible))
    announce(`Added ${id}`)
  }

  function startDrag(event: ReactPointerEvent<HTMLButtonElement>, type: string, label: string) {
    if (event.button !== 0 || disabled) return
    const startX = event.clientX
    const startY = event.clientY
    let dragging = false
    const move = (e: PointerEvent) => {
      if (!dragging && Math.hypot(e.clientX - startX, e.clientY - startY) < DRAG_THRESHOLD) return
      dragging = true
      document.body.classList.add('dragging-kind')
      setGhost({ label, x: e.clientX, y: e.clientY })
    }
    const up = (e: PointerEvent) => {
      window.removeEventListener('pointermove', move)
      window.removeEventListener('pointerup', up)
      document.body.classList.remove('dragging-kind')
      setGhost(null)
      if (!dragging) return
      suppressClick.current = true
      window.setTimeout(() => (suppressClick.current = false), 0)
      const target = document.elementFromPoint(e.clientX, e.clientY)
      if (!target?.closest('.react-flow__pane, .react-flow__node, .react-flow__edge')) return
      const position = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY })
      const id = addNode(type, { x: position.x - NODE_SIZE.width / 2, y: position.y - 20 })
      announce(`Added ${id}`)
    }
    window.addEventListener('pointermove', move)
    window.addEventListener('pointerup', up)
  }

  return (
    <nav className="palette" aria-label="Steps you can add">
      <h2>Add a step</h2>
      <p className="help">Drag onto the canvas, or click.</p>
      <ul>
        {kinds.map((kind) => (
          <li key={kind.type}>
            <button
              type="button"
              className={`palette-item kind-${kind.type}`}
              title={kind.description}
              disabled={disabled}
              onPointerDown={(e) => startDrag(e, kind.type, kind.label)}
              onClick={() => {
                if (suppressClick.current) return
                addAtCentre(kind.type)
              }}
            >
              {kind.label}
            </button>
          </li>
        ))}
      </ul>
      {ghost && (
        <div className="palette-ghost" style={{ left: ghost.x, top: ghost.y }} aria-hidden="true">
          {ghost.label}
        </div>
      )}
    </nav>
  )
}

function announce(text: string) {
  const region = document.getElementById('announcer')
  if (region) region.textContent = text
}

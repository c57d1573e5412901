import { beforeEach, describe, expect, it } from 'vitest'
import type { FlowDetail, NodeType } from '../api/types'
import catalogue from '../test/node-types.json'
import example from '../../../flows/examples/abandoned_cart.json'
import { useEditor } from './store'

const kinds = catalogue.items as unknown as NodeType[]

function detail(document: unknown): FlowDetail {
  return {
    id: 1, name: 'Abandoned cart', description: '', status: 'draft', created_at: '', updated_at: '',
    document: structuredClone(document) as FlowDetail['document'], problems: [], version: null, runs: {},
  }
}

const editor = () => useEditor.getState()

describe('editor store', () => {
  beforeEach(() => editor().load(detail(example), kinds))

  it('gives back the document it was given', () => {
    const document = editor().document()
    expect(document.nodes.map((n) => n.id)).toEqual(example.nodes.map((n) => n.id))
    expect(document.edges).toEqual(example.edges)
    expect(document.settings).toEqual(example.settings)
    expect(document.nodes[0].config).toEqual(example.nodes[0].config)
  })

  it('undoes and redoes a change, and a new change clears redo', () => {
    editor().updateLabel('remind', 'Nudge')
    expect(editor().document().nodes.find((n) => n.id === 'remind')?.label).toBe('Nudge')
    editor().undo()
    expect(editor().document().nodes.find((n) => n.id === 'remind')?.label).toBe('Cart reminder')
    editor().redo()
    expect(editor().document().nodes.find((n) => n.id === 'remind')?.label).toBe('Nudge')
    editor().undo()
    editor().updateLabel('bought', 'Bought')
    expect(editor().future).toHaveLength(0)
  })

  it('makes typing in one field one undo step', () => {
    for (const label of ['N', 'Nu', 'Nud', 'Nudg', 'Nudge']) editor().updateLabel('remind', label)
    editor().undo()
    expect(editor().document().nodes.find((n) => n.id === 'remind')?.label).toBe('Cart reminder')
  })

  it('drops the connection of a port that is gone, and undo brings both back', () => {
    editor().updateConfig('pick', { channels: ['email', 'sms'], topic: 'offers' })
    expect(editor().document().edges.filter((e) => e.from === 'pick').map((e) => e.port)).toEqual(['email', 'sms', 'none'])
    editor().undo()
    expect(editor().document().edges.filter((e) => e.from === 'pick')).toHaveLength(4)
  })

  it('pastes copies with new ids and their inner connections', () => {
    useEditor.setState((s) => ({ nodes: s.nodes.map((n) => ({ ...n, selected: n.id === 'pick' || n.id === 'unreachable' })) }))
    expect(editor().copySelection()).toBe(2)
    expect(editor().paste()).toBe(2)
    const document = editor().document()
    expect(document.nodes.map((n) => n.id)).toContain('pick_2')
    expect(document.nodes.map((n) => n.id)).toContain('unreachable_2')
    expect(document.edges).toContainEqual({ from: 'pick_2', port: 'none', to: 'unreachable_2' })
    expect(document.nodes.find((n) => n.id === 'pick_2')?.label).toBe('Channel for offers (copy)')
  })

  it('refuses connections that would loop or enter a trigger, and replaces a port\'s connection', () => {
    const before = editor().edges.length
    editor().connect({ source: 'remind', sourceHandle: 'sent', target: 'start', targetHandle: 'in' })
    editor().connect({ source: 'remind', sourceHandle: 'sent', target: 'wait_purchase', targetHandle: 'in' })
    expect(editor().edges).toHaveLength(before)
    editor().connect({ source: 'pick', sourceHandle: 'none', target: 'bought', targetHandle: 'in' })
    const fromNone = editor().document().edges.filter((e) => e.from === 'pick' && e.port === 'none')
    expect(fromNone).toEqual([{ from: 'pick', port: 'none', to: 'bought' }])
  })

  it('lays out every connection downwards', () => {
    editor().layout()
    const y = Object.fromEntries(editor().nodes.map((n) => [n.id, n.position.y]))
    for (const edge of editor().edges) expect(y[edge.target]).toBeGreaterThan(y[edge.source])
  })

  it('marks problems on the node or the connection they name', () => {
    editor().setProblems([
      { node: 'pick', message: 'choose a channel' },
      { edge: 'pick.email -> remind', message: 'not allowed' },
      { message: 'the flow is odd' },
    ])
    const index = editor().problemIndex
    expect(index.byNode.pick).toEqual(['Choose a channel'])
    expect(index.byEdge['pick.email->remind']).toEqual(['Not allowed'])
    expect(index.general).toHaveLength(1)
  })
})

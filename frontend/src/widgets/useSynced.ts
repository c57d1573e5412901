// Local editing state for a widget whose value lives outside (the node's config): typing keeps
// half-finished input (an empty amount, a field name being typed), while a change from outside
// (undo, another widget) replaces it.
import { useState } from 'react'

function key(value: unknown): string {
  return JSON.stringify(value ?? null)
}

export function useSynced<V, S>(
  value: V,
  parse: (value: V) => S,
  format: (state: S) => V,
  onChange: (value: V) => void,
): [S, (state: S) => void] {
  const incoming = key(value)
  const [state, setState] = useState(() => ({ model: parse(value), seen: incoming }))
  let model = state.model
  if (incoming !== state.seen) {
    // Changed from outside since we last wrote it: start again from the new value.
    model = parse(value)
    setState({ model, seen: incoming })
  }
  const update = (next: S) => {
    const formatted = format(next)
    setState({ model: next, seen: key(formatted) })
    onChange(formatted)
  }
  return [model, update]
}

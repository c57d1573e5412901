// The condition builder's extension for segment rules: event aggregates and other segments.
import { newAggregate } from '../lib/segmentRule'
import { AggregateEditor } from './AggregateEditor'
import type { BuilderExtension } from './ConditionBuilder'

/** The condition builder's extension for segment rules, with what to suggest in its editors. */
export function segmentExtension(
  logic: BuilderExtension['logic'],
  events: string[],
  segments: Array<{ key: string; name: string }>,
): BuilderExtension {
  return {
    logic,
    Editor: (props) => <AggregateEditor {...props} events={events} segments={segments} />,
    adders: [
      { label: 'Add event condition', make: () => newAggregate('count') },
      { label: 'Add segment condition', make: () => newAggregate('inSegment') },
    ],
  }
}

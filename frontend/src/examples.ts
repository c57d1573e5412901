// The example flows from flows/examples/*.json, embedded at build time (the API has no route
// for them). Adding an example there adds it here at the next build.
import type { FlowDocument } from './api/types'

const modules = import.meta.glob<FlowDocument>('../../flows/examples/*.json', { eager: true, import: 'default' })

export interface Example {
  key: string
  document: FlowDocument
}

export const EXAMPLES: Example[] = Object.entries(modules)
  .map(([path, document]) => ({ key: path.replace(/^.*\/|\.json$/g, ''), document }))
  .sort((a, b) => a.document.name.localeCompare(b.document.name))

// What the settings forms offer: fields for conditions and {{ variables }} for messages, taken
// from the contacts in the database, the dry run's scripted events and the flow itself; and the
// sample contact the message previews are rendered for.
import { useMemo } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { Contact } from '../api/types'
import { CHANNELS } from '../lib/channels'
import type { FormContext } from './SchemaForm'
import { parseDetails } from './dryRunInput'
import { useEditor } from './store'

export const FALLBACK_CONTACT: Contact = {
  id: 'sample',
  email: 'anna.rossi@example.it',
  phone: '+393471234567',
  attributes: { first_name: 'Anna', last_name: 'Rossi', country: 'IT' },
  timezone: 'Europe/Rome',
}

function collectPaths(value: unknown, found: Set<string>): void {
  if (typeof value === 'string') {
    for (const match of value.matchAll(/\b((?:contact|event|vars)\.[A-Za-z_][\w.]*)/g)) found.add(match[1])
  } else if (Array.isArray(value)) {
    value.forEach((item) => collectPaths(item, found))
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'var' && typeof item === 'string') found.add(item)
      collectPaths(item, found)
    }
  }
}

export function useFormContext(): FormContext {
  const contacts = useEditor((s) => s.contacts)
  const sampleId = useEditor((s) => s.sampleContactId)
  const events = useEditor((s) => s.dryRun.events)
  // Configs keep their identity while nodes move, so this only changes when a setting does.
  const configs = useEditor(useShallow((s) => s.nodes.map((n) => n.data.config)))
  const triggerEvent = useEditor((s) => {
    const trigger = s.nodes.find((n) => n.data.type === 'trigger' && n.data.config.on === 'event')
    return typeof trigger?.data.config.event === 'string' ? trigger.data.config.event : ''
  })

  return useMemo(() => {
    const contactFields = new Set<string>(['contact.id', 'contact.email', 'contact.phone', 'contact.timezone'])
    const attributeFields = new Set<string>()
    const all = contacts.length ? contacts : [FALLBACK_CONTACT]
    for (const contact of all) {
      for (const key of Object.keys(contact.attributes ?? {})) attributeFields.add(`contact.attributes.${key}`)
      for (const key of Object.keys(contact.preferences ?? {})) contactFields.add(`contact.preferences.${key}`)
    }
    for (const channel of CHANNELS) contactFields.add(`contact.consent.${channel}`)
    const eventFields = new Set<string>(['event.name'])
    for (const event of events) for (const key of Object.keys(parseDetails(event.details).value)) eventFields.add(`event.properties.${key}`)
    const used = new Set<string>()
    collectPaths(configs, used)
    for (const path of used) {
      if (path.startsWith('event.')) eventFields.add(path)
      else if (path.startsWith('contact.attributes.')) attributeFields.add(path)
      else contactFields.add(path)
    }
    const fields = [...[...attributeFields].sort(), ...[...contactFields].sort(), ...[...eventFields].sort()]
    const variables = [
      ...[...attributeFields].sort(),
      'contact.email',
      'contact.phone',
      'contact.id',
      ...[...eventFields].filter((f) => f !== 'event.name').sort(),
    ]
    const contact = all.find((c) => c.id === sampleId) ?? all[0]
    const sampleEvent = events.find((e) => e.contact === contact.id && (!triggerEvent || e.name === triggerEvent)) ??
      events.find((e) => !triggerEvent || e.name === triggerEvent)
    const first = typeof contact.attributes?.first_name === 'string' ? contact.attributes.first_name : ''
    return {
      fields,
      variables,
      sample: {
        contact: contact as Record<string, unknown>,
        event: { name: triggerEvent, properties: sampleEvent ? parseDetails(sampleEvent.details).value : {} },
        vars: {},
      },
      sampleName: first ? `${first} (${contact.id})` : contact.id,
    }
  }, [contacts, sampleId, events, configs, triggerEvent])
}

// Presentation hints for the forms generated from node config schemas: which fields go together
// (a wait is *either* a duration, a time of day or an event), words for enum values, help text.
// A kind without hints still gets a complete form from its schema.
import type { Config } from '../api/types'

export interface Mode {
  value: string
  label: string
  fields: string[]
  initial: Config
}

export interface FormHints {
  // A choice that decides which fields apply. `field`: a config field holds the choice (the
  // trigger's `on`); without it the choice is read from which fields are set.
  modes?: { label: string; field?: string; options: Mode[] }
  enumLabels?: Record<string, Record<string, string>>
  labels?: Record<string, string>
  help?: Record<string, string>
  placeholders?: Record<string, string>
  order?: string[]
  // Fields the schema leaves optional but the chosen mode needs (an event trigger's event).
  required?: string[]
}

export const FORM_HINTS: Record<string, FormHints> = {
  trigger: {
    modes: {
      label: 'Start the flow',
      field: 'on',
      options: [
        { value: 'event', label: 'When the contact does something (an event)', fields: ['event', 'where'], initial: { on: 'event', event: '' } },
        { value: 'segment_entered', label: 'When the contact joins a segment', fields: ['segment', 'include_current'], initial: { on: 'segment_entered', segment: '' } },
        { value: 'segment_exited', label: 'When the contact leaves a segment', fields: ['segment'], initial: { on: 'segment_exited', segment: '' } },
        { value: 'schedule', label: 'At a set time (a broadcast)', fields: ['at', 'cron', 'segment', 'rule'], initial: { on: 'schedule', at: '' } },
        { value: 'api', label: 'When contacts are added through the API', fields: [], initial: { on: 'api' } },
      ],
    },
    labels: { event: 'Event name', where: 'Only when the event matches', rule: 'Only contacts who match', at: 'Date and time (UTC, e.g. 2026-03-02T09:00:00Z)' },
    placeholders: { event: 'e.g. cart_abandoned', segment: 'segment key, e.g. trial_users' },
    required: ['event', 'segment'],
    help: { cron: 'For a repeating broadcast instead of a date: five fields, e.g. "0 9 * * mon" for 09:00 every Monday.' },
  },
  segment_filter: {
    modes: {
      label: 'Let through by "yes"',
      options: [
        { value: 'rule', label: 'Contacts who match conditions', fields: ['rule'], initial: {} },
        { value: 'segment', label: 'Members of a segment', fields: ['segment'], initial: { segment: '' } },
      ],
    },
    labels: { rule: 'Contacts who match' },
    required: ['segment'],
    placeholders: { segment: 'segment key, e.g. vip' },
  },
  wait: {
    modes: {
      label: 'Wait',
      options: [
        { value: 'for', label: 'For a while', fields: ['for'], initial: { for: 'P1D' } },
        { value: 'until', label: 'Until a time of day', fields: ['until'], initial: { until: { time: '09:00' } } },
        { value: 'event', label: 'Until the contact does something', fields: ['event', 'timeout', 'where'], initial: { event: '', timeout: 'P1D' } },
      ],
    },
    required: ['for', 'until', 'event', 'timeout'],
    labels: { for: 'How long', event: 'Event to wait for', timeout: 'Give up after', where: 'Only when the event matches' },
    placeholders: { event: 'e.g. purchased' },
    help: {
      for: 'Days and weeks keep the time of day in the contact\'s time zone; hours and minutes are exact.',
      timeout: 'Leaves by "timeout" if the event has not happened by then, else by "event".',
    },
  },
  send: {
    enumLabels: {
      channel: { chosen: 'The channel picked by Channel choice', email: 'Email', sms: 'SMS', push: 'Push notification', voice: 'Voice call', chat: 'Chat app' },
    },
    labels: { topic: 'Topic (for preferences and opt-outs)' },
    placeholders: { topic: 'e.g. offers' },
    help: { channel: 'Choose "picked by Channel choice" to send on the channel chosen earlier in the flow.' },
    order: ['channel', 'topic', 'content'],
  },
  channel_choice: {
    labels: { channels: 'Channels to try, in order', topic: 'Topic' },
    help: { topic: "The contact's preferred channel for this topic is tried first." },
    placeholders: { topic: 'e.g. offers' },
  },
  update_contact: { labels: { set: 'Set these attributes' } },
  split: { labels: { variants: 'Variants' }, help: { variants: 'Each contact always gets the same variant; the weights are shares.' } },
  exit: { labels: { reason: 'Reason (shown in reports)' }, placeholders: { reason: 'e.g. purchased' } },
}

/** Which mode a config is in: the driving field's value, else the first mode with a field set. */
export function currentMode(hints: FormHints, config: Config): Mode | undefined {
  const modes = hints.modes
  if (!modes) return undefined
  if (modes.field) return modes.options.find((mode) => mode.value === config[modes.field!]) ?? modes.options[0]
  return (
    modes.options.find((mode) => mode.fields.some((field) => config[field] !== undefined && config[field] !== null)) ??
    modes.options[0]
  )
}

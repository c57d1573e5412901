// What the canvas needs to know about a node beyond the catalogue: its ports for a given config,
// and its settings in plain words ("Wait 2 days"). Kinds the frontend has no words for still
// work: they get their catalogue ports and no summary.
import type { Config, NodeType } from '../api/types'
import { channelName } from './channels'
import { describeCondition } from './condition'
import { describeDuration } from './duration'
import { describeUntil, type Until } from './schedule'

function stringsAt(config: Config, path: string): string[] {
  // "channels" or "variants[].name"
  const match = /^(\w+)(?:\[\]\.(\w+))?$/.exec(path)
  if (!match) return []
  const list = config[match[1]]
  if (!Array.isArray(list)) return []
  const values = match[2]
    ? list.map((item) => (item && typeof item === 'object' ? (item as Config)[match[2]] : undefined))
    : list
  return values.filter((value): value is string => typeof value === 'string' && value !== '')
}

/**
 * The output ports of a node: the catalogue's fixed ports, plus one per value of `ports_from`
 * (those first, as the server orders them). A wait for an event leaves by `event` or `timeout`;
 * the catalogue cannot say so yet, so that one rule is written here.
 */
export function portsFor(kind: NodeType | undefined, config: Config): string[] {
  if (!kind) return []
  if (kind.type === 'wait' && config.event !== undefined && config.event !== null) {
    return ['event', 'timeout']
  }
  const extra = kind.ports_from ? stringsAt(config, kind.ports_from) : []
  return [...new Set([...extra, ...kind.ports])]
}

const TRIGGER_WORDS: Record<string, string> = {
  event: 'When an event happens',
  segment_entered: 'When a contact joins a segment',
  segment_exited: 'When a contact leaves a segment',
  schedule: 'On a schedule',
  api: 'When contacts are added through the API',
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

/** The node's settings in a line of plain words. */
export function describeNode(type: string, config: Config): string {
  switch (type) {
    case 'trigger': {
      const on = text(config.on)
      if (on === 'event') {
        const where = describeCondition(config.where)
        const base = config.event ? `When "${text(config.event)}" happens` : 'When an event happens'
        return where ? `${base}, if ${where}` : base
      }
      if (on === 'segment_entered' && config.segment) return `When a contact joins "${text(config.segment)}"`
      if (on === 'segment_exited' && config.segment) return `When a contact leaves "${text(config.segment)}"`
      if (on === 'schedule') {
        if (config.at) return `Once, at ${text(config.at)}`
        if (config.cron) return `Repeatedly (${text(config.cron)})`
      }
      return TRIGGER_WORDS[on] ?? 'Choose what starts the flow'
    }
    case 'segment_filter': {
      if (config.segment) return `Only members of "${text(config.segment)}"`
      const rule = describeCondition(config.rule)
      return rule ? `Only contacts whose ${rule}` : 'Choose who goes on by "yes"'
    }
    case 'channel_choice': {
      const channels = Array.isArray(config.channels) ? config.channels.map((c) => channelName(String(c))) : []
      return channels.length ? `First that works: ${channels.join(', ')}` : 'Choose the channels'
    }
    case 'wait': {
      if (config.for) return `Wait ${describeDuration(text(config.for))}`
      if (config.until) return `Wait until ${describeUntil(config.until as Until)}`
      if (config.event) {
        const name = typeof config.event === 'string' ? config.event : text((config.event as Config).name)
        const timeout = typeof config.event === 'string' ? config.timeout : (config.event as Config).timeout
        return `Wait for "${name}", at most ${describeDuration(text(timeout)) || '…'}`
      }
      return 'Choose how long to wait'
    }
    case 'send': {
      const channel = text(config.channel)
      if (!channel) return 'Choose a channel'
      return channel === 'chosen' ? 'Send on the chosen channel' : `Send by ${channelName(channel)}`
    }
    case 'split': {
      const variants = Array.isArray(config.variants) ? (config.variants as Config[]) : []
      const total = variants.reduce((sum, v) => sum + (Number(v.weight) || 0), 0)
      if (!variants.length) return 'Add variants'
      return variants
        .map((v) => `${text(v.name)} ${total ? Math.round(((Number(v.weight) || 0) / total) * 100) : 0}%`)
        .join(' · ')
    }
    case 'update_contact': {
      const set = config.set && typeof config.set === 'object' ? Object.keys(config.set as Config) : []
      return set.length ? `Set ${set.join(', ')}` : 'Choose what to set'
    }
    case 'exit':
      return config.reason ? `End here (${text(config.reason)})` : 'End here'
    default:
      return ''
  }
}

/** A new node's starting config: enough for its form to show sensible choices. */
export function defaultConfig(type: string): Config {
  switch (type) {
    case 'trigger':
      return { on: 'event', event: '' }
    case 'channel_choice':
      return { channels: ['email'] }
    case 'wait':
      return { for: 'P1D' }
    case 'send':
      return { channel: 'email', content: { email: { subject: '', text: '' } } }
    case 'split':
      return { variants: [{ name: 'a', weight: 50 }, { name: 'b', weight: 50 }] }
    case 'update_contact':
      return { set: {} }
    default:
      return {}
  }
}

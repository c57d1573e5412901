// Channels and their names, and the pure operations of the ordered channel picker.

export const CHANNELS = ['email', 'sms', 'push', 'voice', 'chat'] as const

const NAMES: Record<string, string> = {
  email: 'Email',
  sms: 'SMS',
  push: 'Push notification',
  voice: 'Voice call',
  chat: 'Chat app',
  chosen: 'The channel picked by Channel choice',
  none: 'No channel works',
}

export function channelName(channel: string): string {
  return NAMES[channel] ?? channel
}

export function isChannel(value: string): boolean {
  return (CHANNELS as readonly string[]).includes(value)
}

/** Moves the item at `index` by `delta` places (clamped); a new list. */
export function moveItem<T>(list: readonly T[], index: number, delta: number): T[] {
  const target = Math.max(0, Math.min(list.length - 1, index + delta))
  if (index < 0 || index >= list.length || target === index) return [...list]
  const copy = [...list]
  const [item] = copy.splice(index, 1)
  copy.splice(target, 0, item)
  return copy
}

export function addItem<T>(list: readonly T[], item: T): T[] {
  return list.includes(item) ? [...list] : [...list, item]
}

export function removeItem<T>(list: readonly T[], item: T): T[] {
  return list.filter((entry) => entry !== item)
}

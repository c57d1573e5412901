// Times and counts in words.
import type { FlowStatus, RunCounts } from '../api/types'

export function relativeTime(iso: string, now: number = Date.now()): string {
  const then = Date.parse(iso)
  if (Number.isNaN(then)) return iso
  const seconds = Math.round((now - then) / 1000)
  if (seconds < 45) return 'just now'
  const minutes = Math.round(seconds / 60)
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'} ago`
  const hours = Math.round(minutes / 60)
  if (hours < 24) return `${hours} hour${hours === 1 ? '' : 's'} ago`
  const days = Math.round(hours / 24)
  if (days < 30) return `${days} day${days === 1 ? '' : 's'} ago`
  return new Date(then).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' })
}

/** "9 Mar 2026, 10:00 UTC": simulation and run times are UTC. */
export function utcTime(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return `${date.toLocaleString('en-GB', {
    timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
  })} UTC`
}

export const STATUS_WORDS: Record<FlowStatus, string> = { draft: 'Draft', live: 'Live', paused: 'Paused' }

const RUN_WORDS: Record<string, string> = {
  waiting: 'in progress',
  active: 'in progress',
  sending: 'in progress',
  completed: 'completed',
  exited: 'exited',
  failed: 'failed',
  cancelled: 'cancelled',
}

/** "3 in progress · 12 completed", or "No runs yet". */
export function describeRuns(runs: RunCounts | undefined): string {
  const entries = Object.entries(runs ?? {}).filter(([, n]) => n > 0)
  if (!entries.length) return 'No runs yet'
  const merged = new Map<string, number>()
  for (const [status, n] of entries) {
    const word = RUN_WORDS[status] ?? status
    merged.set(word, (merged.get(word) ?? 0) + n)
  }
  return [...merged].map(([word, n]) => `${n} ${word}`).join(' · ')
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

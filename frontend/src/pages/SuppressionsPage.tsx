// Settings -> Suppressions: the addresses that get nothing on their channel (hard bounces, spam
// complaints, entries made by hand), newest first, a page at a time; add one, lift one.
import { useEffect, useState, type FormEvent } from 'react'
import { Link, useSearchParams } from 'react-router'
import { api, ApiError, errorText } from '../api/client'
import type { Suppression } from '../api/types'
import { Dialog } from '../components/Dialog'
import { channelName, isChannel } from '../lib/channels'
import { relativeTime } from '../lib/format'
import { SUPPRESSION_REASONS, suppressionReasonWords } from './PolicyModel'
import { ChannelOptions } from '../widgets/ChannelOptions'
import './policy.css'

export const PAGE_SIZE = 50

const ADDRESS_HINTS: Record<string, string> = {
  email: 'name@example.com',
  sms: '+393401234567',
  voice: '+393401234567',
  push: 'the device token or endpoint URL',
  chat: 'app:handle, e.g. whatsapp:+393401234567',
}

export function SuppressionsPage() {
  const [params, setParams] = useSearchParams()
  const filter = isChannel(params.get('channel') ?? '') ? (params.get('channel') as string) : ''
  const [items, setItems] = useState<Suppression[] | null>(null)
  const [next, setNext] = useState<string | null>(null)
  const [shownFor, setShownFor] = useState<string | null>(null)
  const [error, setError] = useState('')
  const [loadingMore, setLoadingMore] = useState(false)
  const [reload, setReload] = useState(0)
  const [note, setNote] = useState('')
  const [removing, setRemoving] = useState<Suppression | null>(null)

  useEffect(() => {
    let current = true
    api.listSuppressions({ channel: filter || undefined, limit: PAGE_SIZE }).then(
      (page) => {
        if (!current) return
        setItems(page.items)
        setNext(page.next)
        setShownFor(filter)
        setError('')
      },
      (failure: unknown) => {
        if (!current) return
        setItems([])
        setNext(null)
        setShownFor(filter)
        setError(errorText(failure, 'Could not load the suppression list.'))
      },
    )
    return () => {
      current = false
    }
  }, [filter, reload])

  async function loadMore() {
    if (!next) return
    setLoadingMore(true)
    try {
      const page = await api.listSuppressions({ channel: filter || undefined, limit: PAGE_SIZE, cursor: next })
      setItems((current) => [...(current ?? []), ...page.items])
      setNext(page.next)
      setError('')
    } catch (failure) {
      setError(errorText(failure, 'Could not load more of the list.'))
    } finally {
      setLoadingMore(false)
    }
  }

  function added(entry: Suppression) {
    const shown = !filter || filter === entry.channel
    setNote(
      `${entry.address} is suppressed on ${channelName(entry.channel)}: nothing more goes to it there.` +
        (shown ? '' : ` The list shows ${channelName(filter)} only.`),
    )
    setReload((n) => n + 1) // from the first page: an address already listed keeps its place
  }

  function removed(entry: Suppression, words: string) {
    setItems((current) => (current ?? []).filter((s) => !(s.channel === entry.channel && s.address === entry.address)))
    setNote(words)
    setRemoving(null)
  }

  const busy = shownFor !== filter
  return (
    <main className="page policy-page">
      <div className="page-head">
        <h1>Suppressions</h1>
      </div>
      <p className="help">
        An address on this list gets nothing on its channel, from any flow, whatever its consent. Hard bounces and spam
        complaints add addresses here by themselves; you can add one by hand too. Caps and quiet hours are in{' '}
        <Link to="/settings/policy">Delivery rules</Link>.
      </p>

      <AddSuppression defaultChannel={filter || 'email'} onAdded={added} />

      <div className="filters" role="search">
        <label className="field">
          <span>Show</span>
          <select
            aria-label="Show the channel"
            value={filter}
            onChange={(event) => {
              setNote('')
              setParams(
                (current) => {
                  const copy = new URLSearchParams(current)
                  if (event.target.value) copy.set('channel', event.target.value)
                  else copy.delete('channel')
                  return copy
                },
                { replace: true },
              )
            }}
          >
            <option value="">All channels</option>
            <ChannelOptions />
          </select>
        </label>
      </div>

      {note && (
        <p className="notice" role="status">
          {note}
        </p>
      )}
      {error && (
        <p className="error-box" role="alert">
          {error}
        </p>
      )}
      {items === null && !error && <p role="status">Loading the suppression list…</p>}
      {items && items.length === 0 && !error && (
        <div className="empty card">
          <h2>{filter ? `No suppressed ${channelName(filter)} addresses` : 'No suppressed addresses'}</h2>
          <p>
            This list stops every send to an address on its channel: hard bounces and spam complaints land here by
            themselves, and you can add an address by hand, e.g. when someone asks by phone to get nothing more.
          </p>
        </div>
      )}
      {items && items.length > 0 && (
        <table className="flows suppressions" aria-label="Suppressed addresses" aria-busy={busy}>
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Address</th>
              <th scope="col">Reason</th>
              <th scope="col">Since</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((entry) => (
              <tr key={`${entry.channel}\n${entry.address}`}>
                <td>{channelName(entry.channel)}</td>
                <td className="mono address">{entry.address}</td>
                <td title={entry.reason}>{suppressionReasonWords(entry.reason)}</td>
                <td title={new Date(entry.created_at).toLocaleString()}>{relativeTime(entry.created_at)}</td>
                <td>
                  <div className="row-actions">
                    <button
                      type="button"
                      className="danger"
                      aria-label={`Remove ${entry.address} (${channelName(entry.channel)})`}
                      onClick={() => {
                        setNote('')
                        setRemoving(entry)
                      }}
                    >
                      Remove
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {items && next && (
        <div className="load-more">
          <button type="button" disabled={loadingMore} onClick={() => void loadMore()}>
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
      {removing && <RemoveDialog entry={removing} onClose={() => setRemoving(null)} onRemoved={removed} />}
    </main>
  )
}

function AddSuppression({ defaultChannel, onAdded }: { defaultChannel: string; onAdded: (entry: Suppression) => void }) {
  const [channel, setChannel] = useState(defaultChannel)
  const [followed, setFollowed] = useState(defaultChannel)
  const [address, setAddress] = useState('')
  const [reason, setReason] = useState('manual')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState('')

  // The form follows the list's channel filter (a pick made in the form lasts until it changes).
  if (followed !== defaultChannel) {
    setFollowed(defaultChannel)
    setChannel(defaultChannel)
  }

  async function submit(event: FormEvent) {
    event.preventDefault()
    setBusy(true)
    setError('')
    try {
      const entry = await api.addSuppression({ channel, address: address.trim(), reason: reason.trim() || 'manual' })
      setAddress('')
      setReason('manual')
      onAdded(entry)
    } catch (failure) {
      setError(errorText(failure, 'Could not add the address.'))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section className="card suppression-add" aria-labelledby="suppression-add-title">
      <h2 id="suppression-add-title">Add an address</h2>
      <form onSubmit={(event) => void submit(event)}>
        <label className="field">
          <span>Channel</span>
          <select value={channel} onChange={(event) => setChannel(event.target.value)}>
            <ChannelOptions />
          </select>
        </label>
        <label className="field grow">
          <span>Address</span>
          <input
            type="text"
            value={address}
            autoComplete="off"
            spellCheck={false}
            placeholder={ADDRESS_HINTS[channel]}
            onChange={(event) => setAddress(event.target.value)}
          />
        </label>
        <label className="field">
          <span>Reason</span>
          <input type="text" list="suppression-reasons" value={reason} onChange={(event) => setReason(event.target.value)} />
          <datalist id="suppression-reasons">
            {SUPPRESSION_REASONS.map((code) => (
              <option key={code} value={code}>
                {suppressionReasonWords(code)}
              </option>
            ))}
          </datalist>
        </label>
        <div className="button-row">
          <button type="submit" className="primary" disabled={busy || !address.trim()}>
            {busy ? 'Adding…' : 'Add to the list'}
          </button>
        </div>
      </form>
      {error && (
        <p className="error-box" role="alert">
          {error}
        </p>
      )}
    </section>
  )
}

function RemoveDialog({
  entry,
  onClose,
  onRemoved,
}: {
  entry: Suppression
  onClose: () => void
  onRemoved: (entry: Suppression, words: string) => void
}) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState('')
  const channel = channelName(entry.channel)

  async function remove() {
    setBusy(true)
    setError('')
    try {
      await api.removeSuppression(entry.channel, entry.address)
      onRemoved(entry, `${entry.address} is off the list: ${channel} messages go to it again.`)
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 404) {
        onRemoved(entry, `${entry.address} was no longer on the ${channel} list.`)
        return
      }
      setError(errorText(failure, 'Could not remove the address.'))
      setBusy(false)
    }
  }

  return (
    <Dialog
      title="Remove this suppression?"
      onClose={onClose}
      actions={
        <>
          <button type="button" onClick={onClose} disabled={busy} data-autofocus>
            Cancel
          </button>
          <button type="button" className="danger" onClick={() => void remove()} disabled={busy}>
            {busy ? 'Removing…' : 'Remove'}
          </button>
        </>
      }
    >
      <p>
        <span className="mono">{entry.address}</span> will get {channel} messages again, from every flow. Remove it only
        once the problem is solved: the address was corrected, or the person asked to hear from you again.
      </p>
      <p className="muted">Reason it was added: {suppressionReasonWords(entry.reason)}.</p>
      {error && (
        <p className="error-box" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  )
}

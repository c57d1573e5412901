// Settings -> Channels: per channel, the provider in use and where that comes from, a form for
// the workspace's provider URL (never shown back: it holds secrets), and a test send.
import { useEffect, useState, type FormEvent } from 'react'
import { api, errorText } from '../api/client'
import type { ChannelSetting } from '../api/types'
import { channelName } from '../lib/channels'
import { URL_FORMS, providerName, sourceText, testAnswerText } from './ChannelSettingsModel'
import './channels.css'

export function ChannelSettingsPage() {
  const [channels, setChannels] = useState<ChannelSetting[] | null>(null)
  const [error, setError] = useState('')

  useEffect(() => {
    api.listChannelSettings().then(
      (page) => setChannels(page.items),
      (failure: unknown) => setError(errorText(failure, 'Could not load the channel settings.')),
    )
  }, [])

  function replace(updated: ChannelSetting) {
    setChannels((current) => (current ?? []).map((c) => (c.channel === updated.channel ? updated : c)))
  }

  return (
    <main className="page">
      <div className="page-head">
        <h1>Channels</h1>
      </div>
      <p className="help">
        Each channel sends through one provider, set by a URL. Passwords and keys in it are stored encrypted and
        never shown again. A provider set in the server's environment takes precedence.
      </p>
      {error && (
        <p className="error-box" role="alert">
          {error}
        </p>
      )}
      {channels === null && !error && <p role="status">Loading channels…</p>}
      {channels?.map((setting) => (
        <ChannelCard key={setting.channel} setting={setting} onChange={replace} />
      ))}
    </main>
  )
}

function ChannelCard({ setting, onChange }: { setting: ChannelSetting; onChange: (s: ChannelSetting) => void }) {
  const name = channelName(setting.channel)
  const [url, setUrl] = useState('')
  const [busy, setBusy] = useState(false)
  const [saveError, setSaveError] = useState('')
  const [note, setNote] = useState('')
  const [to, setTo] = useState('')
  const [testing, setTesting] = useState(false)
  const [answer, setAnswer] = useState<{ ok: boolean; text: string } | null>(null)

  async function save(event: FormEvent) {
    event.preventDefault()
    setBusy(true)
    setSaveError('')
    setNote('')
    try {
      const saved = await api.saveChannelUrl(setting.channel, url)
      onChange(saved)
      setUrl('')
      setNote(saved.note ?? 'Saved. New sends use it within a few seconds.')
    } catch (failure) {
      setSaveError(errorText(failure, 'Could not save the provider.'))
    } finally {
      setBusy(false)
    }
  }

  async function remove() {
    setBusy(true)
    setSaveError('')
    setNote('')
    try {
      onChange(await api.deleteChannelUrl(setting.channel))
      setNote('Removed: the channel is back to the environment or the sandbox.')
    } catch (failure) {
      setSaveError(errorText(failure, 'Could not remove the provider.'))
    } finally {
      setBusy(false)
    }
  }

  async function test(event: FormEvent) {
    event.preventDefault()
    setTesting(true)
    setAnswer(null)
    try {
      const result = await api.testChannel(setting.channel, to)
      setAnswer({ ok: result.status === 'accepted', text: testAnswerText(result) })
    } catch (failure) {
      setAnswer({ ok: false, text: errorText(failure, 'Could not send the test message.') })
    } finally {
      setTesting(false)
    }
  }

  const id = `channel-${setting.channel}`
  return (
    <section className="card channel-card" aria-labelledby={`${id}-title`} data-channel={setting.channel}>
      <h2 id={`${id}-title`}>{name}</h2>
      <dl className="channel-facts">
        <dt>Provider</dt>
        <dd data-testid={`${id}-provider`}>{providerName(setting.provider)}</dd>
        <dt>Comes from</dt>
        <dd data-testid={`${id}-source`}>{sourceText(setting)}</dd>
        {setting.redacted_url && (
          <>
            <dt>URL</dt>
            <dd className="mono">{setting.redacted_url}</dd>
          </>
        )}
      </dl>
      {setting.problem && (
        <p className="error-box" role="alert">
          {setting.problem}
        </p>
      )}
      <form onSubmit={(event) => void save(event)}>
        <label className="field">
          <span>{setting.stored ? 'Replace the provider URL' : 'Provider URL'}</span>
          <input
            type="text"
            className="mono"
            value={url}
            autoComplete="off"
            spellCheck={false}
            placeholder={URL_FORMS[setting.channel]?.[0]?.[0]}
            onChange={(event) => setUrl(event.target.value)}
          />
        </label>
        <details className="help">
          <summary>URL forms</summary>
          <ul className="url-forms">
            {(URL_FORMS[setting.channel] ?? []).map(([form, meaning]) => (
              <li key={form}>
                <code>{form}</code> {meaning}
              </li>
            ))}
          </ul>
          Every parameter: docs/channels.md.
        </details>
        {saveError && (
          <p className="error-box" role="alert">
            {saveError}
          </p>
        )}
        {note && <p className="notice">{note}</p>}
        <div className="button-row">
          <button type="submit" className="primary" disabled={busy || !url.trim()}>
            Save {name} provider
          </button>
          {setting.stored && (
            <button type="button" disabled={busy} onClick={() => void remove()}>
              Remove the workspace setting
            </button>
          )}
        </div>
      </form>
      <form className="channel-test" onSubmit={(event) => void test(event)}>
        <label className="field">
          <span>Send a test message to</span>
          <input
            type="text"
            value={to}
            placeholder={setting.channel === 'email' ? 'you@example.com' : 'an address on this channel'}
            onChange={(event) => setTo(event.target.value)}
          />
        </label>
        <div className="button-row">
          <button type="submit" disabled={testing || !to.trim()}>
            {testing ? 'Sending…' : 'Send a test message'}
          </button>
        </div>
        {answer && (
          <p className={answer.ok ? 'notice' : 'error-box'} role="status" data-testid={`${id}-answer`}>
            {answer.text}
          </p>
        )}
      </form>
    </section>
  )
}

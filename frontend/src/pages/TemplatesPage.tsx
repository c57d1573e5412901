// Reusable message templates: the list (name, key, channel, version), and a way to a new one.
import { useEffect, useState } from 'react'
import { Link, useNavigate } from 'react-router'
import { ApiError } from '../api/client'
import { channelName } from '../lib/channels'
import { relativeTime } from '../lib/format'
import { templatesApi, type TemplateSummary } from './TemplatesModel'

export function TemplatesPage() {
  const navigate = useNavigate()
  const [templates, setTemplates] = useState<TemplateSummary[] | null>(null)
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState('')

  useEffect(() => {
    templatesApi.list().then(
      (page) => {
        setTemplates(page.items)
        setNext(page.next)
      },
      (failure: unknown) => setError(failure instanceof ApiError ? failure.message : 'Could not load the templates.'),
    )
  }, [])

  async function loadMore() {
    try {
      const page = await templatesApi.list(next)
      setTemplates((current) => [...(current ?? []), ...page.items])
      setNext(page.next)
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : 'Could not load more templates.')
    }
  }

  return (
    <main className="page">
      <div className="page-head">
        <h1>Templates</h1>
        <span className="spacer" />
        <button type="button" className="primary" onClick={() => navigate('/templates/_new')}>
          New template
        </button>
      </div>
      {error && (
        <p className="error-box" role="alert">
          {error}
        </p>
      )}
      {templates === null && !error && <p role="status">Loading templates…</p>}
      {templates && templates.length === 0 && (
        <div className="empty card">
          <h2>No templates yet</h2>
          <p>A template is a message you write once and use in many flows: a Send node names it by its key, and publishing a flow keeps the version it had then.</p>
        </div>
      )}
      {templates && templates.length > 0 && (
        <table className="flows" aria-label="Templates">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Channel</th>
              <th scope="col">Version</th>
              <th scope="col">Last changed</th>
            </tr>
          </thead>
          <tbody>
            {templates.map((template) => (
              <tr key={template.key}>
                <td>
                  <Link to={`/templates/${encodeURIComponent(template.key)}`} className="flow-name">
                    {template.name}
                  </Link>
                </td>
                <td className="mono">{template.key}</td>
                <td>{channelName(template.channel)}</td>
                <td>v{template.version}</td>
                <td title={new Date(template.updated_at).toLocaleString()}>{relativeTime(template.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={() => void loadMore()}>
          Show more templates
        </button>
      )}
    </main>
  )
}

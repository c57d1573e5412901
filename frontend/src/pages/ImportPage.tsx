// Contacts from a CSV or JSON lines file: upload it, then read the report (rows imported,
// created, updated, and each refused row with its line number and reason).
import { useRef, useState, type FormEvent } from 'react'
import { Link } from 'react-router'
import { api, ApiError } from '../api/client'
import type { ImportReport } from '../api/types'
import { plural } from '../lib/format'
import './people.css'

const ACCEPT = '.csv,.jsonl,.ndjson,.json,text/csv,application/x-ndjson'

export function ImportPage() {
  const input = useRef<HTMLInputElement>(null)
  const [file, setFile] = useState<File | null>(null)
  const [busy, setBusy] = useState(false)
  const [report, setReport] = useState<{ file: string; report: ImportReport } | null>(null)
  const [error, setError] = useState('')

  async function submit(event: FormEvent) {
    event.preventDefault()
    if (!file) {
      setError('Choose a CSV or JSON lines file first.')
      return
    }
    setBusy(true)
    setError('')
    setReport(null)
    try {
      setReport({ file: file.name, report: await api.importContacts(file) })
    } catch (failure) {
      setError(failure instanceof ApiError ? `${file.name}: ${failure.message}` : 'The import failed.')
    } finally {
      setBusy(false)
    }
  }

  return (
    <main className="page">
      <p className="crumbs">
        <Link to="/contacts">← All contacts</Link>
      </p>
      <div className="page-head">
        <h1>Import contacts</h1>
      </div>
      <form className="card import-form" onSubmit={(e) => void submit(e)}>
        <p className="help">
          A CSV file with a header row: <span className="mono">id</span> (required), <span className="mono">email</span>,{' '}
          <span className="mono">phone</span> (E.164, such as +393471234567), <span className="mono">timezone</span>,{' '}
          <span className="mono">consent.sms</span> (opted_in or opted_out), <span className="mono">preferences.offers</span>,{' '}
          <span className="mono">chat.whatsapp</span>; every other column is an attribute (<span className="mono">age:number</span>{' '}
          gives it a type). Or a JSON lines file: one contact per line, as the API takes it.
        </p>
        <p className="help">
          A contact already stored is updated, not duplicated. Good rows are stored even when others are refused; the report lists
          each refused row with its line number and why.
        </p>
        <label className="field">
          <span>File</span>
          <input
            ref={input}
            type="file"
            accept={ACCEPT}
            aria-label="Contacts file (CSV or JSON lines)"
            onChange={(e) => {
              setFile(e.target.files?.[0] ?? null)
              setError('')
            }}
          />
        </label>
        <div className="button-row">
          <button type="submit" className="primary" disabled={busy || !file}>
            {busy ? 'Importing…' : 'Import'}
          </button>
        </div>
        {busy && <p role="status">Importing {file?.name}… a large file takes a while.</p>}
      </form>
      {error && (
        <p className="error-box report" role="alert">
          {error}
        </p>
      )}
      {report && <Report file={report.file} report={report.report} />}
    </main>
  )
}

export function Report({ file, report }: { file: string; report: ImportReport }) {
  const refused = report.refused ?? report.errors.length
  return (
    <section className="card report" aria-labelledby="report-title">
      <h2 id="report-title">Import report for {file}</h2>
      <p role="status" className={refused ? 'error-box' : 'notice'}>
        {refused
          ? `${plural(report.imported, 'row')} imported; ${plural(refused, 'row')} refused (nothing else was changed for them).`
          : `All ${plural(report.imported, 'row')} imported.`}
      </p>
      <div className="report-figures">
        <Figure label="Imported" value={report.imported} />
        <Figure label="New contacts" value={report.created} />
        <Figure label="Updated contacts" value={report.updated} />
        <Figure label="Refused" value={refused} bad={refused > 0} />
      </div>
      {report.errors.length > 0 && (
        <table className="flows" aria-label="Refused rows">
          <thead>
            <tr>
              <th scope="col">Line</th>
              <th scope="col">Contact id</th>
              <th scope="col">Why it was refused</th>
            </tr>
          </thead>
          <tbody>
            {report.errors.map((row, index) => (
              <tr key={`${row.line}-${index}`}>
                <td>{row.line}</td>
                <td className="mono">{row.id ?? <span className="muted">—</span>}</td>
                <td>{row.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {report.errors_truncated && (
        <p className="help">Only the first {report.errors.length} refused rows are listed; fix these and import the file again.</p>
      )}
      <p>
        <Link to="/contacts">See the contacts</Link>
      </p>
    </section>
  )
}

function Figure({ label, value, bad }: { label: string; value: number; bad?: boolean }) {
  return (
    <div className={bad ? 'bad' : undefined}>
      <strong>{value}</strong>
      <span className="muted">{label}</span>
    </div>
  )
}

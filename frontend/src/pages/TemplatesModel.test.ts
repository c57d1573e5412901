import { describe, expect, it } from 'vitest'
import { cleanContent, emptyContent, keyFromName, keyProblem, previewRequest, sameContent, smsSummary } from './TemplatesModel'

describe('template content', () => {
  it('starts with the required fields of the channel', () => {
    expect(emptyContent('email')).toEqual({ subject: '', text: '' })
    expect(emptyContent('push')).toEqual({ title: '', body: '' })
    expect(emptyContent('sms')).toEqual({ text: '' })
  })

  it('sends only the channel fields, optional ones when written', () => {
    expect(cleanContent('email', { subject: 'S', text: 'T', html: '' })).toEqual({ subject: 'S', text: 'T' })
    expect(cleanContent('email', { subject: 'S', text: 'T', html: '<p>x</p>' })).toEqual({ subject: 'S', text: 'T', html: '<p>x</p>' })
    expect(cleanContent('sms', { text: 'x', subject: 'left over from email' })).toEqual({ text: 'x' })
  })

  it('compares content with missing and empty fields alike', () => {
    expect(sameContent({ text: 'x' }, { text: 'x', url: '' })).toBe(true)
    expect(sameContent({ text: 'x' }, { text: 'y' })).toBe(false)
  })
})

describe('keys', () => {
  it('suggests a key from the name', () => {
    expect(keyFromName('Welcome SMS')).toBe('welcome_sms')
    expect(keyFromName('  Città & più!  ')).toBe('citta_piu')
  })

  it('says what is wrong with a key, like the server', () => {
    expect(keyProblem('welcome_sms')).toBeNull()
    expect(keyProblem('')).toMatch(/Give the template a key/)
    expect(keyProblem('no spaces')).toMatch(/only letters, digits/)
    expect(keyProblem('_hidden')).toMatch(/starts with a letter or digit/)
    expect(keyProblem('x'.repeat(101))).toMatch(/too long/)
  })
})

describe('preview requests', () => {
  const base = { key: 'welcome', channel: 'sms' as const, content: { text: 'Hi' }, contact: 'c-1', eventJson: '' }

  it('asks for a contact first', () => {
    expect(previewRequest({ ...base, contact: '  ' })).toEqual({ problem: 'Enter a contact id to preview the message for that contact.' })
  })

  it('previews the unsaved edits of a saved template', () => {
    expect(previewRequest(base)).toEqual({ path: '/api/templates/welcome/preview', body: { contact: 'c-1', content: { text: 'Hi' } } })
  })

  it('previews a new template with its channel', () => {
    expect(previewRequest({ ...base, key: null })).toEqual({
      path: '/api/templates/preview',
      body: { contact: 'c-1', content: { text: 'Hi' }, channel: 'sms' },
    })
  })

  it('sends a sample event, and says when it is not a JSON object', () => {
    const ok = previewRequest({ ...base, eventJson: '{"properties": {"order_id": "A-17"}}' })
    expect(ok).toMatchObject({ body: { event: { properties: { order_id: 'A-17' } } } })
    expect(previewRequest({ ...base, eventJson: '{nope' })).toEqual({ problem: 'The sample event is not valid JSON.' })
    expect(previewRequest({ ...base, eventJson: '[1]' })).toMatchObject({ problem: expect.stringMatching(/must be a JSON object/) })
  })

  it('escapes keys in the path', () => {
    expect(previewRequest({ ...base, key: 'a.b-c' })).toMatchObject({ path: '/api/templates/a.b-c/preview' })
  })
})

describe('the SMS summary of a preview', () => {
  it('uses the server count when given, else counts the rendered text', () => {
    const sms = { encoding: 'UCS-2' as const, characters: 4, units: 5, segments: 1, per_segment: 70, ucs2_because: '😀' }
    expect(smsSummary({ channel: 'sms', content: { text: 'Hi 😀' }, sms })).toBe('4 characters · 1 segment · UCS-2 (because of ‘😀’)')
    expect(smsSummary({ channel: 'sms', content: { text: 'a'.repeat(161) } })).toBe('161 characters · 2 segments · GSM-7')
    expect(smsSummary({ channel: 'email', content: { subject: 'x', text: 'y' } })).toBeNull()
  })
})

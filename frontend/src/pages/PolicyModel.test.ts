import { describe, expect, it } from 'vitest'
import type { DeliveryPolicy } from '../api/types'
import {
  cleanTopics,
  emptyForm,
  formFromPolicy,
  formProblems,
  paddedTime,
  policyFromForm,
  quietSummary,
  samePolicy,
  suppressionReasonWords,
  type PolicyForm,
} from './PolicyModel'

const POLICY: DeliveryPolicy = {
  caps: { email: { day: 2, week: 5 }, sms: { week: 3 } },
  transactional_topics: ['receipts', 'password_reset'],
  quiet_hours: { start: '21:00', end: '08:00', timezone: 'Europe/Rome' },
}

const NEW_WORKSPACE: DeliveryPolicy = { caps: {}, transactional_topics: [], quiet_hours: null }

function withCap(channel: string, day: string, week: string): PolicyForm {
  const form = emptyForm()
  form.caps[channel] = { day, week }
  return form
}

describe('form <-> API shape', () => {
  it('a new workspace is a form with every channel empty and quiet hours off', () => {
    const form = formFromPolicy(NEW_WORKSPACE)
    expect(Object.keys(form.caps)).toEqual(['email', 'sms', 'push', 'voice', 'chat'])
    expect(Object.values(form.caps).every((cap) => cap.day === '' && cap.week === '')).toBe(true)
    expect(form.quiet.on).toBe(false)
    expect(policyFromForm(form)).toEqual(NEW_WORKSPACE)
  })

  it('gives back the policy it was made from', () => {
    const form = formFromPolicy(POLICY)
    expect(form.caps.email).toEqual({ day: '2', week: '5' })
    expect(form.caps.sms).toEqual({ day: '', week: '3' })
    expect(form.quiet).toEqual({ on: true, start: '21:00', end: '08:00', timezone: 'Europe/Rome' })
    expect(policyFromForm(form)).toEqual(POLICY)
  })

  it('leaves out empty caps, a blank time zone, and blank or repeated topics', () => {
    const form = withCap('push', ' 4 ', '')
    form.topics = [' receipts', '', 'receipts', 'codes ']
    form.quiet = { on: true, start: '22:30', end: '07:00', timezone: '  ' }
    expect(policyFromForm(form)).toEqual({
      caps: { push: { day: 4 } },
      transactional_topics: ['receipts', 'codes'],
      quiet_hours: { start: '22:30', end: '07:00' },
    })
  })

  it('quiet hours switched off are sent as none, whatever the times typed', () => {
    const form = formFromPolicy(POLICY)
    form.quiet.on = false
    expect(policyFromForm(form).quiet_hours).toBeNull()
  })

  it('keeps a channel it does not know, so saving does not drop it', () => {
    const form = formFromPolicy({ ...NEW_WORKSPACE, caps: { fax: { day: 1 } } })
    expect(policyFromForm(form).caps).toEqual({ fax: { day: 1 } })
  })

  it('pads times for the time input', () => {
    expect(paddedTime('9:05')).toBe('09:05')
    expect(paddedTime('21:00')).toBe('21:00')
    expect(formFromPolicy({ ...NEW_WORKSPACE, quiet_hours: { start: '7:00', end: '8:00' } }).quiet.start).toBe('07:00')
  })

  it('tells changed forms from the same policy', () => {
    const form = formFromPolicy(POLICY)
    expect(samePolicy(form, formFromPolicy(POLICY))).toBe(true)
    expect(samePolicy(form, { ...form, topics: ['receipts'] })).toBe(false)
  })

  it('cleans topics', () => {
    expect(cleanTopics(['a', ' a ', 'b', ''])).toEqual(['a', 'b'])
  })
})

describe('validation', () => {
  it('a valid form has no problems', () => {
    expect(formProblems(formFromPolicy(POLICY))).toEqual([])
    expect(formProblems(emptyForm())).toEqual([])
  })

  it('names the field of a cap that is not a whole number', () => {
    expect(formProblems(withCap('email', '1.5', ''))).toEqual([
      {
        field: 'cap-email-day',
        message:
          'Email per day: "1.5" is not a number of messages; write a whole number from 1 up, or leave it empty for no cap.',
      },
    ])
    for (const bad of ['two', '0', '-1', '1e3']) {
      const problems = formProblems(withCap('sms', '', bad))
      expect(problems).toHaveLength(1)
      expect(problems[0].field).toBe('cap-sms-week')
      expect(problems[0].message).toMatch(/^SMS per week: /)
    }
  })

  it('a weekly cap below the daily cap names the weekly field', () => {
    expect(formProblems(withCap('email', '3', '2'))).toEqual([
      {
        field: 'cap-email-week',
        message:
          'Email per week: 2 is lower than the daily cap (3); a week holds every day of it, so the weekly cap must be at least 3.',
      },
    ])
    expect(formProblems(withCap('email', '3', '3'))).toEqual([])
    expect(formProblems(withCap('email', '3', '10'))).toEqual([]) // numbers, not text, are compared
  })

  it('quiet hours need two different times of day', () => {
    const form = emptyForm()
    form.quiet = { on: true, start: '', end: '25:00', timezone: '' }
    expect(formProblems(form)).toEqual([
      { field: 'quiet-start', message: 'Quiet hours from: give a time of day, e.g. 21:00.' },
      { field: 'quiet-end', message: 'Quiet hours until: "25:00" is not a time of day (24-hour clock, e.g. 08:00).' },
    ])
    form.quiet = { on: true, start: '21:00', end: '21:00', timezone: '' }
    expect(formProblems(form)).toEqual([
      {
        field: 'quiet-end',
        message: 'Quiet hours: "from" and "until" are the same time; quiet hours need a window, e.g. 21:00 to 08:00.',
      },
    ])
    form.quiet = { on: false, start: '', end: '', timezone: '' }
    expect(formProblems(form)).toEqual([]) // switched off: nothing to check
  })

  it('leaves the time zone to the server', () => {
    const form = emptyForm()
    form.quiet = { on: true, start: '21:00', end: '08:00', timezone: 'Nowhere/City' }
    expect(formProblems(form)).toEqual([])
  })
})

describe('words', () => {
  it('sums up quiet hours', () => {
    expect(quietSummary({ on: false, start: '21:00', end: '08:00', timezone: '' })).toBe(
      'No quiet hours: messages go at any time of day.',
    )
    expect(quietSummary({ on: true, start: '21:00', end: '08:00', timezone: '' })).toBe(
      "Messages due between 21:00 and 08:00 (overnight) wait until 08:00, in each contact's own time zone (the flow's time zone for contacts without one).",
    )
    expect(quietSummary({ on: true, start: '12:00', end: '14:00', timezone: 'Europe/Rome' })).toContain(
      'between 12:00 and 14:00 wait until 14:00',
    )
  })

  it('says why an address is suppressed', () => {
    expect(suppressionReasonWords('manual')).toBe('Added by hand')
    expect(suppressionReasonWords('hard_bounce: 550 5.1.1 no such user')).toBe('Hard bounce (550 5.1.1 no such user)')
    expect(suppressionReasonWords('complaint')).toBe('Spam complaint')
    expect(suppressionReasonWords('asked_by_phone')).toBe('asked by phone')
  })
})

import { describe, expect, it } from 'vitest'
import { describeDuration, formatDuration, parseDuration } from './duration'

describe('ISO 8601 durations', () => {
  it.each(['P1D', 'PT24H', 'PT5S', 'P2W', 'P1M', 'P1Y', 'PT30M', 'P1W2DT3H', 'P1DT2H30M', 'PT1.5S'])(
    'reads and writes %s unchanged',
    (text) => {
      expect(formatDuration(parseDuration(text)!)).toBe(text)
    },
  )

  it('keeps calendar days and exact hours apart', () => {
    expect(parseDuration('P1D')).toEqual([{ amount: 1, unit: 'days' }])
    expect(parseDuration('PT24H')).toEqual([{ amount: 24, unit: 'hours' }])
  })

  it('rejects what is not a duration', () => {
    for (const text of ['', 'P', 'PT', 'P1DT', '1 day', 'P-1D', 'D1']) expect(parseDuration(text)).toBeNull()
  })

  it('drops zero and empty amounts and merges repeated units', () => {
    expect(formatDuration([{ amount: 0, unit: 'days' }, { amount: 3, unit: 'hours' }])).toBe('PT3H')
    expect(formatDuration([{ amount: Number.NaN, unit: 'days' }])).toBe('')
    expect(formatDuration([{ amount: 1, unit: 'days' }, { amount: 2, unit: 'days' }])).toBe('P3D')
    expect(formatDuration([{ amount: 30, unit: 'minutes' }, { amount: 1, unit: 'weeks' }])).toBe('P1WT30M')
  })

  it('says durations in words', () => {
    expect(describeDuration('P2D')).toBe('2 days')
    expect(describeDuration('P1D')).toBe('1 day')
    expect(describeDuration('PT24H')).toBe('24 hours')
    expect(describeDuration('P1DT3H')).toBe('1 day and 3 hours')
    expect(describeDuration('P1W2DT3H')).toBe('1 week, 2 days and 3 hours')
    expect(describeDuration('soon')).toBe('soon')
  })
})

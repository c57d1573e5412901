import { describe, expect, it } from 'vitest'
import shared from '../../../tests/data/sms_segments.json?raw'
import { describeSmsLength, smsLength } from './smsSegments'

interface Case {
  name: string
  parts: [string, number][]
  encoding: string
  characters: number
  units: number
  segments: number
  ucs2_because: string | null
}

const cases = (JSON.parse(shared) as { cases: Case[] }).cases

describe('SMS length (the cases flows/sms.py checks too)', () => {
  it('has the shared cases', () => {
    expect(cases.length).toBeGreaterThan(20)
  })

  for (const c of cases) {
    it(c.name, () => {
      const text = c.parts.map(([piece, times]) => piece.repeat(times)).join('')
      const length = smsLength(text)
      expect([length.encoding, length.characters, length.units, length.segments, length.ucs2Because]).toEqual([
        c.encoding,
        c.characters,
        c.units,
        c.segments,
        c.ucs2_because,
      ])
    })
  }
})

describe('describeSmsLength', () => {
  it('says characters, segments and the encoding', () => {
    expect(describeSmsLength(smsLength('Hello'))).toBe('5 characters · 1 segment · GSM-7')
    expect(describeSmsLength(smsLength('a'.repeat(161)))).toBe('161 characters · 2 segments · GSM-7')
  })

  it('names the character that forces UCS-2', () => {
    expect(describeSmsLength(smsLength('Hi 😀'))).toBe('4 characters · 1 segment · UCS-2 (because of ‘😀’)')
    expect(describeSmsLength(smsLength('e\u0301'))).toBe('2 characters · 1 segment · UCS-2 (because of U+0301)')
  })

  it('counts one character', () => {
    expect(describeSmsLength(smsLength('€'))).toBe('1 character · 1 segment · GSM-7')
  })
})

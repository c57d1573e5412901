// How long an SMS is: encoding, characters and segments, shown under the SMS text while typing.
// Mirrors flows/sms.py (the server's count); tests/data/sms_segments.json holds the cases both
// test suites check.
//
// GSM-7 packs the GSM 03.38 alphabet in septets, 160 per message; a character of the extension
// table (€, [, {, ...) takes an escape septet plus its own. One character outside both tables
// makes the whole message UCS-2: UTF-16 code units, 70 per message, two for most emoji. A longer
// message goes in segments of 153 septets or 67 units; a two-unit character never straddles two.

export type SmsEncoding = 'GSM-7' | 'UCS-2'

export interface SmsLength {
  encoding: SmsEncoding
  characters: number // Unicode code points
  units: number // septets (GSM-7) or UTF-16 code units (UCS-2)
  segments: number // 0 for an empty message
  perSegment: number
  ucs2Because: string | null // the first character that forced UCS-2
}

const GSM7_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
)
const GSM7_EXTENSION = new Set('\f^{}\\[~]|€')

function measure(encoding: SmsEncoding, widths: number[], single: number, multi: number, because: string | null): SmsLength {
  const units = widths.reduce((sum, width) => sum + width, 0)
  if (units <= single) {
    return { encoding, characters: widths.length, units, segments: widths.length ? 1 : 0, perSegment: single, ucs2Because: because }
  }
  let segments = 1
  let used = 0
  for (const width of widths) {
    if (used + width > multi) {
      segments += 1
      used = 0
    }
    used += width
  }
  return { encoding, characters: widths.length, units, segments, perSegment: multi, ucs2Because: because }
}

export function smsLength(text: string): SmsLength {
  const chars = [...text] // by code point, like Python's str
  const widths: number[] = []
  for (const char of chars) {
    if (GSM7_BASIC.has(char)) widths.push(1)
    else if (GSM7_EXTENSION.has(char)) widths.push(2)
    else {
      return measure('UCS-2', chars.map((c) => c.length), 70, 67, char)
    }
  }
  return measure('GSM-7', widths, 160, 153, null)
}

/** "N characters · M segments · GSM-7", or "... · UCS-2 (because of ‘😀’)". */
export function describeSmsLength(length: SmsLength): string {
  const characters = `${length.characters} character${length.characters === 1 ? '' : 's'}`
  const segments = `${length.segments} segment${length.segments === 1 ? '' : 's'}`
  const encoding =
    length.encoding === 'UCS-2' && length.ucs2Because !== null
      ? `UCS-2 (because of ${showCharacter(length.ucs2Because)})`
      : length.encoding
  return `${characters} · ${segments} · ${encoding}`
}

function showCharacter(char: string): string {
  const code = char.codePointAt(0) ?? 0
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`
  // Invisible or combining characters are named by code point: quoting them shows nothing.
  if (/[\p{M}\p{C}\p{Z}]/u.test(char)) return hex
  return `‘${char}’`
}

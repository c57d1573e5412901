"""How long an SMS is: its encoding, its characters and the number of segments it is sent in.

An SMS carries 140 bytes. Text that only uses the GSM 03.38 alphabet is packed as 7-bit septets
(160 per message); a character of the extension table (`€`, `[`, `{`, ...) takes an escape septet
plus its own, so it counts twice. One character outside both tables makes the whole message UCS-2
(UTF-16 code units, 70 per message), where a character beyond the Basic Multilingual Plane (most
emoji) takes two units.

A longer message is split into concatenated segments, each losing room to the concatenation header:
153 septets or 67 units per segment. A segment never splits an escape pair or a surrogate pair, so
such a character that does not fit moves whole to the next segment (as handsets and SMS centres do).

frontend/src/lib/smsSegments.ts mirrors this module; tests/data/sms_segments.json holds the cases
both test suites check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7 = 160
MULTI_GSM7 = 153
SINGLE_UCS2 = 70
MULTI_UCS2 = 67

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True, slots=True)
class SmsLength:
    encoding: Encoding
    characters: int  # Unicode code points, what a person counts
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int  # 0 for an empty message
    per_segment: int  # room in each segment for this message: 160/153 or 70/67
    ucs2_because: str | None  # the first character that forced UCS-2

    def to_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding, "characters": self.characters, "units": self.units,
            "segments": self.segments, "per_segment": self.per_segment,
            "ucs2_because": self.ucs2_because,
        }


def sms_length(text: str) -> SmsLength:
    """The encoding, length and segment count of `text` sent as one SMS."""
    widths: list[int] = []
    for char in text:
        if char in GSM7_BASIC:
            widths.append(1)
        elif char in GSM7_EXTENSION:
            widths.append(2)
        else:
            return _ucs2(text, char)
    return _measure("GSM-7", widths, SINGLE_GSM7, MULTI_GSM7, None)


def _ucs2(text: str, because: str) -> SmsLength:
    widths = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return _measure("UCS-2", widths, SINGLE_UCS2, MULTI_UCS2, because)


def _measure(
    encoding: Encoding, widths: list[int], single: int, multi: int, because: str | None
) -> SmsLength:
    units = sum(widths)
    if units <= single:
        segments = 1 if widths else 0
        return SmsLength(encoding, len(widths), units, segments, single, because)
    segments, used = 1, 0
    for width in widths:
        if used + width > multi:  # a two-unit character never straddles two segments
            segments += 1
            used = 0
        used += width
    return SmsLength(encoding, len(widths), units, segments, multi, because)

"""SMS length: encoding, characters and segments, on the cases the TypeScript counter shares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.sms import GSM7_BASIC, GSM7_EXTENSION, sms_length

CASES = json.loads(
    (Path(__file__).parents[1] / "data" / "sms_segments.json").read_text(encoding="utf-8")
)["cases"]


def case_text(case: dict[str, Any]) -> str:
    return "".join(piece * times for piece, times in case["parts"])


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_shared_cases(case: dict[str, Any]) -> None:
    length = sms_length(case_text(case))
    assert (length.encoding, length.characters, length.units, length.segments,
            length.ucs2_because) == (case["encoding"], case["characters"], case["units"],
                                     case["segments"], case["ucs2_because"])


def test_room_per_segment_shrinks_once_a_message_is_split() -> None:
    assert sms_length("a" * 160).per_segment == 160
    assert sms_length("a" * 161).per_segment == 153
    assert sms_length("ж" * 70).per_segment == 70
    assert sms_length("ж" * 71).per_segment == 67


def test_the_tables_are_the_gsm_03_38_ones() -> None:
    assert len(GSM7_BASIC) == 127  # 128 code points less the escape to the extension table
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@given(st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=700))
def test_gsm7_segments_hold_what_they_promise(text: str) -> None:
    length = sms_length(text)
    assert length.encoding == "GSM-7"
    septets = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
    assert length.units == septets
    if septets <= 160:
        assert length.segments == (1 if text else 0)
    else:  # never fewer than the septets need, and at most one more per straddling pair
        assert -(-septets // 153) <= length.segments <= -(-septets // 152)


@given(st.text(min_size=1, max_size=300))
def test_any_text_has_a_length(text: str) -> None:
    length = sms_length(text)
    assert length.characters == len(text)
    if length.encoding == "UCS-2":
        assert length.units == len(text.encode("utf-16-le")) // 2
        assert length.ucs2_because is not None and length.ucs2_because in text
    assert length.segments >= 1

"""Signed tracking and unsubscribe tokens, and the HTML rewriting that places them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.channels.tracking import (
    BadToken,
    add_pixel,
    open_token,
    read_open_token,
    read_unsubscribe_token,
    rewrite_links,
    sign_link,
    unsubscribe_token,
    verify_link,
)

KEY = b"0123456789abcdef-key"


@given(url=st.text(min_size=1), message=st.text())
def test_links_round_trip(url: str, message: str) -> None:
    link = verify_link(KEY, sign_link(KEY, url, message))
    assert (link.url, link.message) == (url, message)


@given(
    workspace=st.integers(min_value=0, max_value=2**40),
    contact=st.text(),
    message=st.text(),
    topic=st.none() | st.text(),
)
def test_unsubscribe_tokens_round_trip(
    workspace: int, contact: str, message: str, topic: str | None
) -> None:
    token = unsubscribe_token(KEY, workspace=workspace, contact=contact, message=message,
                              topic=topic)
    assert all(c.isalnum() or c in "-_." for c in token)  # safe in a URL path as it is
    claims = read_unsubscribe_token(KEY, token)
    assert (claims.workspace, claims.contact, claims.message, claims.topic) == (
        workspace, contact, message, topic)


def test_tampering_other_keys_and_other_purposes_are_refused() -> None:
    token = sign_link(KEY, "https://shop.example.com", "1:a:1")
    body, _, mac = token.partition(".")
    forged = sign_link(b"another key", "https://evil.example.com", "1:a:1").partition(".")[0]
    for bad in (
        f"{forged}.{mac}",  # someone else's URL under our mac
        token[:-2],  # cut short
        "garbage",
        "",
        f"{body}.",
        "!!!.???",
    ):
        with pytest.raises(BadToken):
            verify_link(KEY, bad)
    with pytest.raises(BadToken):
        verify_link(b"another key", token)
    # A click token is not an unsubscribe or open token, even with the same key.
    with pytest.raises(BadToken):
        read_unsubscribe_token(KEY, token)
    with pytest.raises(BadToken):
        read_open_token(KEY, token)
    assert read_open_token(KEY, open_token(KEY, "m")).message == "m"


def test_rewrite_links_only_touches_http_anchors() -> None:
    markup = (
        '<a href="https://a.example/x?y=1&amp;z=2">A</a> '
        "<A class='btn' HREF='http://b.example'>B</A> "
        '<a href="mailto:x@y.z">mail</a> <a href="#top">top</a> '
        '<img src="https://img.example/logo.png"> <link href="https://css.example/s.css">'
    )
    seen: list[str] = []

    def rewrite(url: str) -> str:
        seen.append(url)
        return f"https://t.example/{len(seen)}?u=1&v=2"

    out = rewrite_links(markup, rewrite)
    assert seen == ["https://a.example/x?y=1&z=2", "http://b.example"]
    assert '<a href="https://t.example/1?u=1&amp;v=2">A</a>' in out
    assert "<A class='btn' HREF=\"https://t.example/2?u=1&amp;v=2\">B</A>" in out
    for kept in ('href="mailto:x@y.z"', 'href="#top"', 'src="https://img.example/logo.png"',
                 'href="https://css.example/s.css"'):
        assert kept in out


def test_pixel_goes_before_the_end_of_the_body() -> None:
    assert add_pixel("<html><BODY>x</BODY></html>", "https://p/1.gif") == (
        '<html><BODY>x<img src="https://p/1.gif" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px"></BODY></html>'
    )
    assert add_pixel("<p>x</p>", "https://p/1.gif").startswith('<p>x</p><img src="https://p/1')

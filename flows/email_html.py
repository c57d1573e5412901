"""Email HTML with its CSS inlined: many mail clients (Gmail's apps, Outlook) drop `<style>`
blocks, so each rule is copied onto the `style` attribute of the elements it matches.

Pure: stylesheets linked with `<link>` are never fetched (nor read from disk); only the `<style>`
blocks of the message itself are inlined. Media queries and other at-rules stay in a `<style>`
block for the clients that honour them. HTML without a `<style>` block is returned as it is.
"""

from __future__ import annotations

import css_inline

_INLINER = css_inline.CSSInliner(
    load_remote_stylesheets=False,  # no network, no files: a render reads nothing
    keep_link_tags=False,
    keep_at_rules=True,  # @media rules cannot be inlined; responsive emails need them
)


class InlineError(ValueError):
    pass


def inline_css(html: str) -> str:
    """`html` with the rules of its `<style>` blocks moved onto the elements they match."""
    lowered = html.lower()
    if "<style" not in lowered and "<link" not in lowered:
        return html
    try:
        return str(_INLINER.inline(html))
    except (css_inline.InlineError, ValueError) as exc:
        raise InlineError(f"the CSS of the HTML could not be inlined: {exc}") from None

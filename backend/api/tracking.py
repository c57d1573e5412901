"""What recipients' email clients call, without signing in: the open pixel, tracked links and
unsubscribing (RFC 8058 one-click POST, and a small page to leave all email or some topics).

Every URL carries a token signed with the link signing key (backend/channels/tracking.py); a
token that does not verify gets a plain 400 page and changes nothing. Tracked links redirect
only to the URL inside their signed token, so they can never be used as an open redirect.
"""

from __future__ import annotations

import base64
import html
import os
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK, HTTP_302_FOUND, HTTP_400_BAD_REQUEST

from backend.api import Db
from backend.api.contacts import refresh_segments
from backend.channels.config import LinkSettings, load_link_settings
from backend.channels.tracking import (
    OPEN_SUFFIX,
    BadToken,
    Unsubscribe,
    read_open_token,
    read_unsubscribe_token,
    verify_link,
)
from backend.settings import Settings
from backend.store import contacts as contact_store
from backend.store import deliveries
from flows.policy import topic_key

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store"}
ONE_CLICK = "One-Click"  # RFC 8058: the body is `List-Unsubscribe=One-Click`
MAX_TOPICS = 100


def link_settings(state: State) -> LinkSettings:
    """The public URL and signing key, read once per application (the key file may be made on
    first use)."""
    links: LinkSettings | None = state.get("links")
    if links is None:
        settings: Settings = state.settings
        links = load_link_settings(os.environ, settings.var_dir)
        state.links = links
    return links


def plain(status: int, text: str) -> Response[str]:
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8",
                    headers=NO_STORE)


@get("/t/open/{token:str}", include_in_schema=False)
async def open_pixel(token: FromPath[str], state: State, db: Db) -> Response[Any]:
    """A 1x1 GIF; the message becomes `opened` if it was sent or delivered (once: a repeated
    open changes nothing, and a message already clicked stays clicked)."""
    try:
        pixel = read_open_token(link_settings(state).signing_key, token.removesuffix(OPEN_SUFFIX))
    except BadToken:
        return plain(HTTP_400_BAD_REQUEST, "This tracking image is not valid.")
    await deliveries.advance_status(db, "opened", datetime.now(UTC), key=pixel.message)
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@get("/t/click/{token:str}", include_in_schema=False)
async def click(token: FromPath[str], state: State, db: Db) -> Response[Any]:
    """Record the click on the message and send the browser on to the signed URL."""
    try:
        link = verify_link(link_settings(state).signing_key, token)
    except BadToken:
        return plain(HTTP_400_BAD_REQUEST, "This link is not valid: it may have been cut or "
                                           "altered. Please use the link from the email.")
    if not link.url.lower().startswith(("http://", "https://")):
        return plain(HTTP_400_BAD_REQUEST, "This link does not lead to a web page.")
    await deliveries.advance_status(db, "clicked", datetime.now(UTC), key=link.message)
    return Redirect(link.url, status_code=HTTP_302_FOUND, headers=NO_STORE)


# --- unsubscribing ------------------------------------------------------------------------------


def _claims(state: State, token: str) -> Unsubscribe | None:
    try:
        return read_unsubscribe_token(link_settings(state).signing_key, token)
    except BadToken:
        return None


BAD_UNSUBSCRIBE = ("This unsubscribe link is not valid: it may have been cut or altered. "
                   "Please use the link from the email.")
UNKNOWN_CONTACT = "We have no record of this subscription any more: there is nothing to change."


async def _offered_topics(db: Db, claims: Unsubscribe, contact: dict[str, Any]
                          ) -> list[str]:
    """The email's own topic first, then every topic the contact got email about or has a
    choice recorded for."""
    topics = set(await deliveries.email_topics(db, claims.workspace, claims.contact))
    topics |= {key.split(":", 1)[1] for key in contact.get("consent", {})
               if key.startswith("email:") and key != "email:"}
    first = [claims.topic] if claims.topic else []
    return first + sorted(topics - set(first))


@get("/unsubscribe/{token:str}", include_in_schema=False)
async def unsubscribe_page(token: FromPath[str], state: State, db: Db) -> Response[str]:
    claims = _claims(state, token)
    if claims is None:
        return _page(HTTP_400_BAD_REQUEST, BAD_UNSUBSCRIBE)
    found = await contact_store.load_contacts(db, claims.workspace, [claims.contact])
    if claims.contact not in found:
        return _page(404, UNKNOWN_CONTACT)
    contact = found[claims.contact]
    return _page(HTTP_200_OK, None, contact, await _offered_topics(db, claims, contact))


@post("/unsubscribe/{token:str}", include_in_schema=False, status_code=HTTP_200_OK)
async def unsubscribe(token: FromPath[str], request: Request[Any, Any, Any], state: State,
                      db: Db) -> Response[str]:
    """RFC 8058 one-click (`List-Unsubscribe=One-Click`) and the page's own forms
    (`action=all`, `action=resubscribe`, `action=topics` with the `keep` boxes ticked)."""
    claims = _claims(state, token)
    if claims is None:
        return _page(HTTP_400_BAD_REQUEST, BAD_UNSUBSCRIBE)
    form = await request.form()
    action = form.get("action")
    if action is None and form.get("List-Unsubscribe") == ONE_CLICK:
        action = "all"
    found = await contact_store.load_contacts(db, claims.workspace, [claims.contact])
    if claims.contact not in found:
        return _page(404, UNKNOWN_CONTACT)
    offered = await _offered_topics(db, claims, found[claims.contact])
    consent: dict[str, Any]
    if action == "all":
        consent, done = {"email": "opted_out"}, "You will not get any more email from us."
    elif action == "resubscribe":
        consent, done = {"email": "opted_in"}, "You are subscribed to our email again."
    elif action == "topics":
        keep = [str(value) for value in form.getall("keep", [])]
        strangers = [topic for topic in keep if topic not in offered]
        if strangers or len(keep) > MAX_TOPICS:
            return _page(HTTP_400_BAD_REQUEST, "These topics are not on this page: "
                         + ", ".join(strangers[:5]))
        consent = {topic_key("email", topic): "opted_in" if topic in keep else "opted_out"
                   for topic in offered}
        left = [topic for topic in offered if topic not in keep]
        done = ("Saved. You left: " + ", ".join(left) + "." if left
                else "Saved. You get email on every topic listed.")
    else:
        return _page(HTTP_400_BAD_REQUEST, "Nothing to do: this form needs "
                     "List-Unsubscribe=One-Click or an action (all, resubscribe, topics).")
    stored = await deliveries.set_consent(db, claims.workspace, [claims.contact], consent,
                                          datetime.now(UTC))
    if stored:
        await refresh_segments(state, db, claims.workspace, [claims.contact])
    contact = stored[0] if stored else found[claims.contact]
    return _page(HTTP_200_OK, done, contact, offered)


def _page(status: int, notice: str | None, contact: dict[str, Any] | None = None,
          topics: list[str] | None = None) -> Response[str]:
    parts = ['<!doctype html><html lang="en"><head><meta charset="utf-8">'
             '<meta name="viewport" content="width=device-width, initial-scale=1">'
             '<meta name="robots" content="noindex">'
             "<title>Email preferences</title></head>"
             '<body style="font-family: system-ui, sans-serif; max-width: 36rem; '
             'margin: 3rem auto; padding: 0 1rem;">'
             "<h1>Email preferences</h1>"]
    if notice:
        parts.append(f'<p role="status"><strong>{html.escape(notice)}</strong></p>')
    if contact is not None:
        parts.append(_forms(contact, topics or []))
    parts.append("</body></html>")
    return Response("".join(parts), status_code=status, media_type="text/html; charset=utf-8",
                    headers={**NO_STORE, "X-Frame-Options": "DENY",
                             "Content-Security-Policy": "default-src 'none'; "
                             "style-src 'unsafe-inline'; form-action 'self'"})


def _forms(contact: dict[str, Any], topics: list[str]) -> str:
    consent = contact.get("consent", {})
    address = html.escape(str(contact.get("email") or "your address"))
    if consent.get("email") == "opted_out":
        return (f"<p>{address} is unsubscribed from all our email.</p>"
                '<form method="post"><input type="hidden" name="action" value="resubscribe">'
                "<button>Subscribe again</button></form>")
    parts = [f"<p>Email to {address}.</p>",
             '<form method="post"><input type="hidden" name="action" value="all">'
             "<button>Unsubscribe from all email</button></form>"]
    if topics:
        parts.append('<h2>Or choose the topics you want</h2><form method="post">'
                     '<input type="hidden" name="action" value="topics">')
        for index, topic in enumerate(topics):
            ticked = "" if consent.get(topic_key("email", topic)) == "opted_out" else " checked"
            name = html.escape(topic, quote=True)
            parts.append(f'<p><label><input type="checkbox" id="topic-{index}" name="keep" '
                         f'value="{name}"{ticked}> {html.escape(topic)}</label></p>')
        parts.append("<button>Save my topics</button></form>")
    return "".join(parts)


TRACKING_ROUTES: list[HTTPRouteHandler] = [open_pixel, click, unsubscribe_page, unsubscribe]

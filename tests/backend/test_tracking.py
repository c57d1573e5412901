"""The recipients' endpoints: open pixel, tracked links, one-click unsubscribe and the
unsubscribe page, on both databases, with tokens signed the way the email provider signs them."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_api_support import T0, Api, running_api

from backend.channels.config import load_link_settings
from backend.channels.tracking import (
    open_token,
    sign_link,
    unsubscribe_token,
)


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


async def public(api: Api, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """A request as a mail client or browser makes it: no API key, redirects not followed."""
    request = api.client.build_request(method, url, **kwargs)
    del request.headers["authorization"]
    return await api.client.send(request, follow_redirects=False)


def signing_key(api: Api) -> bytes:
    return load_link_settings(os.environ, api.app.state.settings.var_dir).signing_key


def workspace_of(api: Api) -> int:
    return int(api.sql("SELECT id FROM workspaces ORDER BY id LIMIT 1")[0]["id"])


def add_message(api: Api, key: str, *, contact: str = "c-1", channel: str = "email",
                status: str = "sent", topic: str | None = "newsletter", to: str = "a@x.org",
                reason: str | None = None) -> None:
    api.sql('INSERT INTO messages (workspace, key, node, contact, channel, "to", topic, content, '
            "status, reason, created_at, updated_at) VALUES ({}, {}, 'hello', {}, {}, {}, {}, {}, "
            "{}, {}, {}, {})", workspace_of(api), key, contact, channel, to, topic,
            json.dumps({"text": "Hi"}), status, reason, T0, T0)


def status_of(api: Api, key: str) -> tuple[str, str | None]:
    row = api.sql("SELECT status, reason FROM messages WHERE key = {}", key)[0]
    return row["status"], row["reason"]


async def contact(api: Api, key: str = "c-1") -> dict[str, object]:
    response = await api.client.get(f"/api/contacts/{key}")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


# --- open pixel ---------------------------------------------------------------------------------


async def test_open_pixel_is_a_gif_and_marks_a_sent_message_opened_once(api: Api) -> None:
    add_message(api, "r:n:1")
    url = f"/t/open/{open_token(signing_key(api), 'r:n:1')}.gif"
    for _ in range(2):
        response = await public(api, "GET", url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/gif"
        assert response.content.startswith(b"GIF89a")
        assert response.headers["cache-control"] == "no-store"
        assert status_of(api, "r:n:1") == ("opened", None)


@pytest.mark.parametrize("status", ["queued", "failed", "refused", "clicked"])
async def test_open_pixel_leaves_other_statuses_alone(api: Api, status: str) -> None:
    add_message(api, "r:n:1", status=status)
    response = await public(api, "GET", f"/t/open/{open_token(signing_key(api), 'r:n:1')}.gif")
    assert response.status_code == 200
    assert status_of(api, "r:n:1")[0] == status


async def test_forged_open_pixel_changes_nothing(api: Api) -> None:
    add_message(api, "r:n:1")
    forged = open_token(b"not the server's key at all", "r:n:1")
    response = await public(api, "GET", f"/t/open/{forged}.gif")
    assert response.status_code == 400
    assert status_of(api, "r:n:1")[0] == "sent"


# --- click redirect -----------------------------------------------------------------------------


async def test_click_redirects_to_the_signed_url_and_marks_clicked(api: Api) -> None:
    add_message(api, "r:n:1", status="delivered")
    target = "https://shop.example.com/sale?utm=x&y=%20z"
    response = await public(api, "GET", f"/t/click/{sign_link(signing_key(api), target, 'r:n:1')}")
    assert response.status_code == 302
    assert response.headers["location"] == target
    assert status_of(api, "r:n:1")[0] == "clicked"
    # a later open pixel (images loaded after the click) does not move it back
    await public(api, "GET", f"/t/open/{open_token(signing_key(api), 'r:n:1')}.gif")
    assert status_of(api, "r:n:1")[0] == "clicked"


async def test_a_forged_or_altered_link_is_a_plain_400_never_a_redirect(api: Api) -> None:
    add_message(api, "r:n:1")
    good = sign_link(signing_key(api), "https://shop.example.com/", "r:n:1")
    forged = sign_link(b"attacker's own key", "https://evil.example.net/", "r:n:1")
    payload, _, mac = good.partition(".")
    altered = sign_link(signing_key(api), "https://evil.example.net/", "r:n:1").partition(".")[0]
    for token in (forged, f"{altered}.{mac}", "garbage", f"{payload}."):
        response = await public(api, "GET", f"/t/click/{token}")
        assert response.status_code == 400, token
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/plain")
        assert "not valid" in response.text
    assert status_of(api, "r:n:1")[0] == "sent"
    # an open token is not a click token either
    response = await public(api, "GET", f"/t/click/{open_token(signing_key(api), 'r:n:1')}")
    assert response.status_code == 400


# --- unsubscribing ------------------------------------------------------------------------------


async def add_contact(api: Api, **fields: object) -> None:
    body = {"id": "c-1", "email": "ann@example.com", "consent": {"email": "opted_in"}, **fields}
    response = await api.client.post("/api/contacts", json=body)
    assert response.status_code == 200, response.text


def unsubscribe_path(api: Api, topic: str | None = "newsletter", who: str = "c-1") -> str:
    token = unsubscribe_token(signing_key(api), workspace=workspace_of(api), contact=who,
                              message="r:n:1", topic=topic)
    return f"/unsubscribe/{token}"


async def test_rfc8058_one_click_post_opts_the_contact_out_of_email(api: Api) -> None:
    await add_contact(api)
    path = unsubscribe_path(api)
    for _ in range(2):  # mail providers may post twice
        response = await public(api,
            "POST", path, content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 200, response.text
    stored = await contact(api)
    assert stored["consent"] == {"email": "opted_out"}
    changed = stored["consent_changed"]
    assert isinstance(changed, dict) and changed["email"].endswith(("Z", "+00:00"))


async def test_one_click_also_works_as_multipart(api: Api) -> None:
    await add_contact(api)
    response = await public(api, "POST", unsubscribe_path(api),
                                   files={"List-Unsubscribe": (None, "One-Click")})
    assert response.status_code == 200, response.text
    assert (await contact(api))["consent"] == {"email": "opted_out"}


async def test_unsubscribe_refuses_forged_tokens_and_empty_posts(api: Api) -> None:
    await add_contact(api)
    forged = unsubscribe_token(b"someone else's key", workspace=workspace_of(api),
                               contact="c-1", message="r:n:1", topic=None)
    for method in ("GET", "POST"):
        response = await public(api, method, f"/unsubscribe/{forged}",
                                       data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 400
        assert "not valid" in response.text
    response = await public(api, "POST", unsubscribe_path(api), data={"whatever": "1"})
    assert response.status_code == 400
    assert "List-Unsubscribe=One-Click" in response.text
    assert (await contact(api))["consent"] == {"email": "opted_in"}


async def test_unsubscribing_an_unknown_contact_creates_nobody(api: Api) -> None:
    response = await public(api, "POST", unsubscribe_path(api, who="ghost"),
                                   data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 404
    assert api.sql("SELECT COUNT(*) AS n FROM contacts")[0]["n"] == 0


async def test_the_page_offers_the_topics_and_escapes_them(api: Api) -> None:
    await add_contact(api, email="a&b@example.com",
                      consent={"email": "opted_in", "email:<script>x": "opted_out"})
    add_message(api, "r:n:1", topic="newsletter")
    add_message(api, "r:n:2", topic="offers")
    add_message(api, "r:n:3", topic="sms-only", channel="sms")
    response = await public(api, "GET", unsubscribe_path(api, topic="offers"))
    assert response.status_code == 200
    page = response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "<script>" not in page and "a&b@" not in page
    assert "&lt;script&gt;x" in page and "a&amp;b@example.com" in page
    assert page.index('value="offers" checked') < page.index('value="newsletter" checked')
    assert 'value="&lt;script&gt;x">' in page  # opted out: not ticked
    assert "sms-only" not in page
    assert 'name="action" value="all"' in page


async def test_the_topic_form_leaves_only_the_unticked_topics(api: Api) -> None:
    await add_contact(api)
    add_message(api, "r:n:1", topic="newsletter")
    add_message(api, "r:n:2", topic="offers")
    path = unsubscribe_path(api)
    response = await public(api, "POST", path, data={"action": "topics", "keep": ["offers"]})
    assert response.status_code == 200, response.text
    assert "You left: newsletter." in response.text
    stored = await contact(api)
    assert stored["consent"] == {"email": "opted_in", "email:newsletter": "opted_out",
                                 "email:offers": "opted_in"}
    assert 'value="newsletter">' in response.text  # the page now shows it unticked
    # ticking it again lets the topic back in; a topic not offered is refused
    await public(api, "POST", path, data={"action": "topics",
                                            "keep": ["offers", "newsletter"]})
    consent = (await contact(api))["consent"]
    assert isinstance(consent, dict) and consent["email:newsletter"] == "opted_in"
    bad = await public(api, "POST", path, data={"action": "topics", "keep": ["billing"]})
    assert bad.status_code == 400
    assert "billing" in bad.text


async def test_the_page_unsubscribes_from_all_and_back(api: Api) -> None:
    await add_contact(api)
    path = unsubscribe_path(api)
    response = await public(api, "POST", path, data={"action": "all"})
    assert "You will not get any more email from us." in response.text
    assert "Subscribe again" in response.text
    assert (await contact(api))["consent"] == {"email": "opted_out"}
    response = await public(api, "POST", path, data={"action": "resubscribe"})
    assert (await contact(api))["consent"] == {"email": "opted_in"}

"""Delivery report and inbound message hooks over HTTP, on both databases: each provider's real
report format, signatures, statuses that only move forward, STOP replies, bounces."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from test_api_support import T0, Api, running_api, without_provider_settings
from test_tracking import add_message, public, status_of, workspace_of

from backend.channels.email import message_id
from backend.channels.webhook import signature
from backend.db import Database
from backend.inbound import consent_keyword
from backend.runtime.store import record_deliveries

TWILIO_TOKEN = "twilio-auth-token-123"
WEBHOOK_SECRET = "whsec-abcdefgh"


@pytest.fixture
async def api(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> AsyncIterator[Api]:
    without_provider_settings(monkeypatch)
    async with running_api(database_url, tmp_path) as running:
        yield running


async def hooks(api: Api) -> dict[str, str]:
    response = await api.client.get("/api/hooks")
    assert response.status_code == 200, response.text
    urls: dict[str, str] = response.json()
    return urls


def path_of(url: str) -> str:
    return urlsplit(url).path


async def add_contact(api: Api, key: str, phone: str, **fields: object) -> None:
    response = await api.client.post("/api/contacts", json={"id": key, "phone": phone,
                                                            **fields})
    assert response.status_code == 200, response.text


async def consent_of(api: Api, key: str) -> dict[str, str]:
    consent: dict[str, str] = (await api.client.get(f"/api/contacts/{key}")).json()["consent"]
    return consent


# --- the hook URLs ------------------------------------------------------------------------------


async def test_hook_urls_need_a_session_and_name_the_workspace_secretly(api: Api) -> None:
    assert (await api.anonymous("GET", "/api/hooks")).status_code == 401
    urls = await hooks(api)
    assert set(urls) == {"infobip", "twilio", "webhook", "email"}
    assert urls["infobip"].startswith("http://127.0.0.1:8000/hooks/infobip/")
    token = urls["infobip"].rsplit("/", 1)[1]
    workspace, _, mac = token.partition(".")
    assert workspace == str(workspace_of(api)) and len(mac) >= 20
    # another workspace's number with this workspace's MAC is refused
    forged = f"/hooks/infobip/{int(workspace) + 1}.{mac}"
    response = await public(api, "POST", forged, json={"results": []})
    assert response.status_code == 403
    assert "not valid" in response.json()["error"]


# --- Infobip ------------------------------------------------------------------------------------


def infobip_report(key: str, group: str, name: str, error: str = "NO_ERROR") -> dict[str, object]:
    """One entry of Infobip's SMS delivery report, as Infobip posts it."""
    return {
        "bulkId": "BULK-ID-123-xyz", "price": {"pricePerMessage": 0.01, "currency": "EUR"},
        "status": {"groupId": 3, "groupName": group, "id": 5, "name": name,
                   "description": "Message delivered to handset"},
        "error": {"groupId": 0, "groupName": "OK", "id": 0, "name": error,
                  "description": "No Error" if error == "NO_ERROR" else "Absent subscriber",
                  "permanent": error != "NO_ERROR"},
        "messageId": key, "doneAt": "2026-03-01T09:00:04.000+0000", "smsCount": 1,
        "sentAt": "2026-03-01T09:00:01.000+0000", "to": "393401234567",
    }


async def test_infobip_delivery_reports_move_messages_forward_only(api: Api) -> None:
    url = path_of((await hooks(api))["infobip"])
    add_message(api, "1:hello:1", channel="sms", status="sent")
    add_message(api, "1:hello:2", channel="sms", status="sent")
    add_message(api, "1:hello:3", channel="sms", status="clicked")
    body = {"results": [
        infobip_report("1:hello:1", "DELIVERED", "DELIVERED_TO_HANDSET"),
        infobip_report("1:hello:2", "UNDELIVERABLE", "UNDELIVERABLE_NOT_DELIVERED",
                       "EC_ABSENT_SUBSCRIBER"),
        infobip_report("1:hello:3", "DELIVERED", "DELIVERED_TO_HANDSET"),
        infobip_report("nobody:knows:this", "DELIVERED", "DELIVERED_TO_HANDSET"),
        infobip_report("1:hello:1", "PENDING", "PENDING_ENROUTE"),
    ]}
    response = await public(api, "POST", url, json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"updated": 2, "unchanged": 1, "unknown": 1, "ignored": 1}
    assert status_of(api, "1:hello:1") == ("delivered", None)
    assert status_of(api, "1:hello:2") == (
        "failed", "infobip: UNDELIVERABLE_NOT_DELIVERED: Absent subscriber")
    assert status_of(api, "1:hello:3")[0] == "clicked"
    # Infobip retries: the same report again changes nothing
    again = await public(api, "POST", url, json=body)
    assert again.json() == {"unchanged": 3, "unknown": 1, "ignored": 1}
    # a late failure cannot undo a delivery
    late = {"results": [infobip_report("1:hello:1", "EXPIRED", "EXPIRED_EXPIRED")]}
    assert (await public(api, "POST", url, json=late)).json() == {"unchanged": 1}
    assert status_of(api, "1:hello:1") == ("delivered", None)


async def test_infobip_reports_only_touch_their_own_workspace(api: Api) -> None:
    url = path_of((await hooks(api))["infobip"])
    other = api.sql("INSERT INTO workspaces (name, created_at) VALUES ('Other', {}) "
                    "RETURNING id", T0)[0]["id"]
    api.sql("INSERT INTO messages (workspace, key, contact, channel, content, status, "
            "created_at, updated_at) VALUES ({}, 'x:y:1', 'c', 'sms', {}, 'sent', {}, {})",
            other, "{}", T0, T0)
    body = {"results": [infobip_report("x:y:1", "DELIVERED", "DELIVERED_TO_HANDSET")]}
    assert (await public(api, "POST", url, json=body)).json() == {"unknown": 1}
    assert status_of(api, "x:y:1")[0] == "sent"


async def test_infobip_inbound_stop_and_start(api: Api) -> None:
    url = path_of((await hooks(api))["infobip"])
    await add_contact(api, "c-1", "+393401234567", consent={"sms": "opted_in",
                                                             "email": "opted_in"})
    await add_contact(api, "c-2", "+393409999999")

    def inbound(text: str, sender: str = "393401234567") -> dict[str, object]:
        return {"results": [{
            "messageId": "817790313235066447", "from": sender, "to": "385921004026",
            "text": text, "cleanText": text, "keyword": text.split()[0] if text.split() else "",
            "receivedAt": "2026-03-01T09:28:39.220+0000", "smsCount": 1,
            "price": {"pricePerMessage": 0, "currency": "EUR"}, "callbackData": None,
        }], "messageCount": 1, "pendingMessageCount": 0}

    response = await public(api, "POST", url, json=inbound("  Stop "))
    assert response.status_code == 200, response.text
    assert response.json() == {"opted_out": 1}
    assert await consent_of(api, "c-1") == {"sms": "opted_out", "email": "opted_in"}
    assert "sms" not in await consent_of(api, "c-2")
    again = await public(api, "POST", url, json=inbound("STOP"))
    assert again.json() == {"opted_out": 1}  # still opted out, and its time kept
    assert (await public(api, "POST", url, json=inbound("Hello there"))).json() == {"ignored": 1}
    assert await consent_of(api, "c-1") == {"sms": "opted_out", "email": "opted_in"}
    assert (await public(api, "POST", url, json=inbound("unstop"))).json() == {"opted_in": 1}
    assert (await consent_of(api, "c-1"))["sms"] == "opted_in"
    unknown = await public(api, "POST", url, json=inbound("STOP", sender="15550001111"))
    assert unknown.json() == {"opted_out": 0, "unknown": 1}


@pytest.mark.parametrize("text", ["STOP", "stop", " Stopall ", "UNSUBSCRIBE", "cancel", "End",
                                  "QUIT", "arret", "STOPP", "stop!"])
def test_stop_variants_opt_out(text: str) -> None:
    assert consent_keyword(text) == "opted_out"


@pytest.mark.parametrize("text", ["START", "unstop", " Start\n"])
def test_start_variants_opt_in(text: str) -> None:
    assert consent_keyword(text) == "opted_in"


@pytest.mark.parametrize("text", ["", "please stop", "stopping", "STOP IT", "yes"])
def test_other_replies_change_nothing(text: str) -> None:
    assert consent_keyword(text) is None


@pytest.mark.parametrize(("body", "words"), [
    (b"not json", "not JSON"),
    (b'{"results": "x"}', "'results' list"),
    (b'{"results": [{"messageId": "k", "status": {"groupName": "WEIRD"}}]}', "WEIRD"),
    (b'{"results": [{"messageId": "k", "status": {}}]}', "status.groupName"),
    (b'{"results": [{"to": "1"}]}', "neither a delivery report"),
    (b'{"results": [{"status": {"groupName": "DELIVERED"}}]}', "'messageId'"),
])
async def test_bad_infobip_bodies_are_400_with_the_reason(api: Api, body: bytes,
                                                          words: str) -> None:
    url = path_of((await hooks(api))["infobip"])
    response = await public(api, "POST", url, content=body,
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]


# --- Twilio -------------------------------------------------------------------------------------


def twilio_sign(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    """What Twilio computes (its security docs): HMAC-SHA1 over the URL and sorted params."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
                            ).decode()


async def twilio_post(api: Api, url: str, params: dict[str, str],
                      signed: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signed is not None:
        headers["X-Twilio-Signature"] = signed
    split = urlsplit(url)
    target = split.path + (f"?{split.query}" if split.query else "")
    return await public(api, "POST", target, content=urlencode(params).encode(),
                        headers=headers)


async def use_twilio(api: Api) -> None:
    response = await api.client.put("/api/settings/channels/sms", json={
        "url": f"twilio://AC0123456789:{TWILIO_TOKEN}@api.twilio.com?from=%2B15551230000"})
    assert response.status_code == 200, response.text


async def accepted_by_provider(db: Database, rows: list[list[Any]]) -> None:
    async with db.write():  # as the engine records them: in the transaction moving the runs
        await record_deliveries(db, rows)


def status_callback(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {"SmsSid": sid, "SmsStatus": status, "MessageStatus": status, "To": "+393401234567",
            "MessageSid": sid, "AccountSid": "AC0123456789", "From": "+15551230000",
            "ApiVersion": "2010-04-01", **extra}


async def test_twilio_needs_a_configured_provider_and_a_valid_signature(api: Api) -> None:
    url = (await hooks(api))["twilio"]
    params = status_callback("SM1", "delivered")
    response = await twilio_post(api, url, params, twilio_sign(url, params))
    assert response.status_code == 403
    assert "No Twilio provider" in response.json()["error"]
    await use_twilio(api)
    for signed in (None, "", twilio_sign(url, params, "wrong-token"),
                   twilio_sign(url + "x", params), twilio_sign(url, {**params, "To": "+1"})):
        response = await twilio_post(api, url, params, signed)
        assert response.status_code == 403, signed
        assert "X-Twilio-Signature" in response.json()["error"]


async def test_twilio_status_callbacks_find_the_message_by_sid(api: Api) -> None:
    await use_twilio(api)
    url = (await hooks(api))["twilio"]
    add_message(api, "5:hello:1", channel="sms", status="queued")
    add_message(api, "5:hello:2", channel="sms", status="queued")
    # What the engine records when Twilio accepts a message: its SID.
    api.call(accepted_by_provider, api.db, [["5:hello:1", "sent", None, "SMaaa", T0],
                                            ["5:hello:2", "sent", None, "SMbbb", T0]])
    for params in (status_callback("SMaaa", "sent"), status_callback("SMaaa", "delivered"),
                   status_callback("SMbbb", "undelivered", ErrorCode="30003")):
        response = await twilio_post(api, url, params, twilio_sign(url, params))
        assert response.status_code == 200, response.text
    assert status_of(api, "5:hello:1") == ("delivered", None)
    assert status_of(api, "5:hello:2") == ("failed", "twilio: undelivered (error 30003)")
    late = status_callback("SMaaa", "sent")
    response = await twilio_post(api, url, late, twilio_sign(url, late))
    assert response.json() == {"unchanged": 1}
    assert status_of(api, "5:hello:1")[0] == "delivered"


async def test_twilio_status_callback_url_may_carry_our_key(api: Api) -> None:
    await use_twilio(api)
    url = (await hooks(api))["twilio"] + "?" + urlencode({"message": "5:hello:9"})
    add_message(api, "5:hello:9", channel="sms", status="sent")
    params = status_callback("SMnot-recorded", "delivered")
    response = await twilio_post(api, url, params, twilio_sign(url, params))
    assert response.json() == {"updated": 1}
    assert status_of(api, "5:hello:9")[0] == "delivered"


async def test_twilio_inbound_stop_answers_empty_twiml(api: Api) -> None:
    await use_twilio(api)
    await add_contact(api, "c-1", "+393401234567")
    url = (await hooks(api))["twilio"]
    params = {"ToCountry": "US", "SmsMessageSid": "SMin", "NumMedia": "0", "SmsSid": "SMin",
              "SmsStatus": "received", "Body": "Stop", "To": "+15551230000",
              "NumSegments": "1", "MessageSid": "SMin", "AccountSid": "AC0123456789",
              "From": "+393401234567", "ApiVersion": "2010-04-01"}
    response = await twilio_post(api, url, params, twilio_sign(url, params))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response></Response>" in response.text
    assert (await consent_of(api, "c-1"))["sms"] == "opted_out"


# --- the webhook provider -----------------------------------------------------------------------


async def test_webhook_reports_need_the_signature_once_a_secret_is_set(api: Api) -> None:
    url = path_of((await hooks(api))["webhook"])
    add_message(api, "7:hello:1", channel="chat", status="sent")
    body = json.dumps({"version": "castflow.report/1", "id": "7:hello:1",
                       "status": "delivered"}).encode()
    headers = {"Content-Type": "application/json"}
    # no secret set up: the URL's token is the only secret
    assert (await public(api, "POST", url, content=body, headers=headers)).json() == {
        "updated": 1}
    response = await api.client.put("/api/settings/channels/chat", json={
        "url": f"webhook+https://hooks.example.com/out?secret={WEBHOOK_SECRET}"})
    assert response.status_code == 200, response.text
    add_message(api, "7:hello:2", channel="chat", status="sent")
    body = json.dumps({"version": "castflow.report/1", "id": "7:hello:2", "status": "failed",
                       "reason": "handset unreachable"}).encode()
    now = int(time.time())
    for bad in ("", signature("other-secret", now, body), signature(WEBHOOK_SECRET, now - 3600,
                                                                    body)):
        response = await public(api, "POST", url, content=body,
                                headers={**headers, "Castflow-Signature": bad})
        assert response.status_code == 403
        assert "Castflow-Signature" in response.json()["error"]
    assert status_of(api, "7:hello:2")[0] == "sent"
    response = await public(api, "POST", url, content=body, headers={
        **headers, "Castflow-Signature": signature(WEBHOOK_SECRET, now, body)})
    assert response.json() == {"updated": 1}
    assert status_of(api, "7:hello:2") == ("failed", "webhook: handset unreachable")


async def test_webhook_reports_and_inbound_in_one_batch(api: Api) -> None:
    url = path_of((await hooks(api))["webhook"])
    await add_contact(api, "c-1", "+393401234567")
    add_message(api, "7:hello:1", channel="sms", status="delivered")
    batch = [{"version": "castflow.report/1", "id": "7:hello:1", "status": "sent"},
             {"version": "castflow.report/1", "id": "7:hello:1", "status": "opened"},
             {"version": "castflow.inbound/1", "channel": "sms", "from": "+393401234567",
              "text": "QUIT"}]
    response = await public(api, "POST", url, json=batch)
    assert response.json() == {"unchanged": 1, "updated": 1, "opted_out": 1}
    assert status_of(api, "7:hello:1")[0] == "opened"
    assert (await consent_of(api, "c-1"))["sms"] == "opted_out"
    bad = await public(api, "POST", url, json=[{"version": "castflow.report/1", "id": "x",
                                                "status": "bounced"}])
    assert bad.status_code == 400
    assert "webhook report[0]: 'status' must be one of" in bad.json()["error"]


# --- email bounces and complaints ---------------------------------------------------------------


async def test_hard_bounce_suppresses_the_address_and_fails_the_message(api: Api) -> None:
    url = path_of((await hooks(api))["email"])
    add_message(api, "9:mail:1", channel="email", status="sent", to="ann@example.com")
    body = {"type": "hard_bounce", "email": "Ann@Example.com",
            "message_id": message_id("9:mail:1", "news.example.com"),
            "reason": "550 5.1.1 No such user"}
    response = await public(api, "POST", url, json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"suppressed": 1, "updated": 1}
    assert status_of(api, "9:mail:1") == ("failed", "hard_bounce: 550 5.1.1 No such user")
    listed = (await api.client.get("/api/suppressions")).json()["items"]
    assert [(s["channel"], s["address"], s["reason"]) for s in listed] == [
        ("email", "ann@example.com", "hard_bounce: 550 5.1.1 No such user")]
    again = await public(api, "POST", url, json=body)
    assert again.json() == {"already_suppressed": 1, "unchanged": 1}


async def test_complaints_suppress_and_soft_bounces_do_not(api: Api) -> None:
    url = path_of((await hooks(api))["email"])
    response = await public(api, "POST", url, json=[
        {"type": "complaint", "email": "bob@example.com"},
        {"type": "soft_bounce", "email": "eve@example.com", "reason": "mailbox full"}])
    assert response.json() == {"suppressed": 1, "ignored": 1}
    listed = (await api.client.get("/api/suppressions")).json()["items"]
    assert [(s["address"], s["reason"]) for s in listed] == [("bob@example.com", "complaint")]


@pytest.mark.parametrize(("body", "words"), [
    ({"type": "bounce", "email": "a@b.c"}, "'type' must be one of"),
    ({"type": "complaint", "email": "nobody"}, "not an email address"),
    ({"type": "complaint"}, "'email' must be a non-empty string"),
    ({"type": "complaint", "email": "a@b.c", "extra": 1}, "unknown field(s) extra"),
    ({"version": "other/2", "type": "complaint", "email": "a@b.c"}, "'version' must be"),
])
async def test_bad_email_feedback_is_400_and_suppresses_nothing(
        api: Api, body: dict[str, object], words: str) -> None:
    url = path_of((await hooks(api))["email"])
    response = await public(api, "POST", url, json=body)
    assert response.status_code == 400
    assert words in response.json()["error"]
    assert (await api.client.get("/api/suppressions")).json()["items"] == []

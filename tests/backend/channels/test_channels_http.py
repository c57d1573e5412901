"""Infobip, Twilio and webhook providers against a local HTTP server speaking their formats."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

from backend.channels import (
    Accepted,
    DeliveryDeferred,
    InfobipProvider,
    Permanent,
    ProviderSet,
    Retrying,
    Transient,
    TwilioProvider,
    WebhookProvider,
    parse_provider_url,
    verify_signature,
)
from backend.channels.config import InfobipConfig, TwilioConfig, WebhookConfig
from backend.runtime.sender import DeliveryResult, OutgoingMessage
from channels.servers import HttpReply, HttpRequest, HttpServer, Sleeps, free_port

API_KEY = "ib-api-key-123"
AUTH_TOKEN = "tw-auth-token-456"


def sms(key: str = "9:hello:2", to: str = "+393401234567", text: str = "Ciao Bill!") -> (
    OutgoingMessage
):
    return OutgoingMessage(key, 1, "c-1", "sms", to, {"text": text}, topic="onboarding")


def infobip(server: HttpServer, channel: str = "sms", query: str = "from=Castflow") -> (
    InfobipProvider
):
    config = parse_provider_url(channel, f"infobip+http://{API_KEY}@127.0.0.1:{server.port}?{query}")
    assert isinstance(config, InfobipConfig)
    return InfobipProvider(config, channel)


def infobip_ok(request: HttpRequest) -> HttpReply:
    destination = request.json()["messages"][0]["destinations"][0]
    return HttpReply(200, {"bulkId": "b-1", "messages": [{
        "to": destination["to"], "messageId": destination["messageId"],
        "status": {"groupId": 1, "groupName": "PENDING", "id": 26, "name": "PENDING_ACCEPTED"},
    }]})


async def test_infobip_sms_request_and_acceptance(http_server: HttpServer) -> None:
    http_server.default = infobip_ok
    provider = infobip(http_server)
    assert await provider.send(sms()) == Accepted("9:hello:2")
    await provider.aclose()
    [request] = http_server.requests
    assert (request.method, request.path) == ("POST", "/sms/2/text/advanced")
    assert request.headers["authorization"] == f"App {API_KEY}"
    assert request.json() == {"messages": [{
        "destinations": [{"to": "393401234567", "messageId": "9:hello:2"}],
        "text": "Ciao Bill!", "from": "Castflow",
    }]}


async def test_infobip_retries_429_and_500_with_the_same_message_id(
    http_server: HttpServer,
) -> None:
    http_server.replies = [
        HttpReply(429, {"requestError": {"serviceException": {
            "messageId": "TOO_MANY_REQUESTS", "text": "Too many requests"}}},
            headers={"Retry-After": "3"}),
        HttpReply(500, {"requestError": {"serviceException": {
            "messageId": "GENERAL_ERROR", "text": "Something went wrong"}}}),
    ]
    http_server.default = infobip_ok
    sleeps = Sleeps()
    provider = Retrying(infobip(http_server), sleep=sleeps, draw=lambda: 0.5)
    assert await provider.send(sms()) == Accepted("9:hello:2")
    await provider.aclose()
    ids = [r.json()["messages"][0]["destinations"][0]["messageId"] for r in http_server.requests]
    assert ids == ["9:hello:2"] * 3
    assert sleeps.waits == [3.0, 0.5]  # Retry-After honoured, then jittered backoff (1.0 * 0.5)
    assert {r.connection for r in http_server.requests} == {1}  # one kept-alive connection


async def test_infobip_gives_up_after_the_last_attempt(http_server: HttpServer) -> None:
    http_server.default = HttpReply(503, {"requestError": {"serviceException": {
        "messageId": "GENERAL_ERROR", "text": "Service unavailable"}}})
    provider = Retrying(infobip(http_server), sleep=Sleeps())
    outcome = await provider.send(sms())
    await provider.aclose()
    assert outcome == Transient("HTTP 503: GENERAL_ERROR Service unavailable")
    assert len(http_server.requests) == 4


async def test_infobip_permanent_errors_carry_the_reason(http_server: HttpServer) -> None:
    http_server.replies = [
        HttpReply(400, {"requestError": {"serviceException": {
            "messageId": "BAD_REQUEST", "text": "Invalid destination address"}}}),
        HttpReply(401, {"requestError": {"serviceException": {
            "messageId": "UNAUTHORIZED", "text": "Invalid login details"}}}),
        HttpReply(200, {"messages": [{"to": "1", "messageId": "x", "status": {
            "groupId": 5, "groupName": "REJECTED", "name": "REJECTED_DESTINATION",
            "description": "Request rejected: destination blacklisted"}}]}),
    ]
    provider = Retrying(infobip(http_server), sleep=Sleeps())
    outcomes = [await provider.send(sms(key=f"k{i}")) for i in range(3)]
    await provider.aclose()
    assert outcomes == [
        Permanent("HTTP 400: BAD_REQUEST Invalid destination address"),
        Permanent("HTTP 401: UNAUTHORIZED Invalid login details"),
        Permanent("Infobip rejected the message: Request rejected: destination blacklisted"),
    ]
    assert len(http_server.requests) == 3  # permanent: never retried
    assert all(API_KEY not in o.reason for o in outcomes if isinstance(o, Permanent))


async def test_infobip_voice_whatsapp_and_viber_formats(http_server: HttpServer) -> None:
    http_server.default = HttpReply(200, {"messageId": "ib-77", "status": {"groupName": "PENDING"}})
    voice = infobip(http_server, "voice", "from=41793026700&language=it")
    chat = infobip(http_server, "chat", "from=447860099299&viber_from=CastflowViber")
    key = "3:call:1"
    assert await voice.send(OutgoingMessage(key, 1, "c", "voice", "+39340111", {"text": "Ciao"})) \
        == Accepted("ib-77")
    await chat.send(OutgoingMessage(key, 1, "c", "chat", "whatsapp:+39340222", {"text": "Hi"}))
    await chat.send(OutgoingMessage(key, 1, "c", "chat", "viber:+39340333", {"text": "Hey"}))
    telegram = await chat.send(
        OutgoingMessage(key, 1, "c", "chat", "telegram:@bill", {"text": "x"})
    )
    await voice.aclose()
    await chat.aclose()
    assert telegram == Permanent("Infobip does not deliver to chat app 'telegram'")
    tts, whatsapp, viber = http_server.requests
    assert tts.path == "/tts/3/advanced"
    assert tts.json() == {"messages": [{
        "destinations": [{"to": "39340111", "messageId": key}], "text": "Ciao",
        "language": "it", "from": "41793026700"}]}
    assert whatsapp.path == "/whatsapp/1/message/text"
    assert whatsapp.json() == {"from": "447860099299", "to": "39340222", "messageId": key,
                               "content": {"text": "Hi"}}
    assert viber.path == "/viber/2/messages"
    assert viber.json() == {"messages": [{
        "sender": "CastflowViber", "destinations": [{"to": "39340333", "messageId": key}],
        "content": {"text": "Hey", "type": "TEXT"}}]}


async def test_connection_refused_and_timeouts_are_transient(http_server: HttpServer) -> None:
    config = InfobipConfig(f"http://127.0.0.1:{free_port()}", parse_secret(API_KEY))
    refused = await InfobipProvider(config, "sms").send(sms())
    assert isinstance(refused, Transient) and refused.reason.startswith("connection failed")

    http_server.default = HttpReply(200, {}, delay=1.0)
    slow = InfobipConfig(http_server.url, parse_secret(API_KEY), sender="X", timeout=0.2)
    provider = InfobipProvider(slow, "sms")
    timed_out = await provider.send(sms())
    await provider.aclose()
    assert isinstance(timed_out, Transient) and timed_out.reason.startswith("timeout")


def parse_secret(value: str) -> Any:
    from backend.channels import Secret

    return Secret(value)


# --- Twilio ---------------------------------------------------------------------------------

SID = "AC0123456789abcdef"


def twilio(server: HttpServer, channel: str = "sms", clock: Any = time.time) -> TwilioProvider:
    config = parse_provider_url(
        channel, f"twilio+http://{SID}:{AUTH_TOKEN}@127.0.0.1:{server.port}?from=%2B15550001111"
    )
    assert isinstance(config, TwilioConfig)
    return TwilioProvider(config, channel, clock=clock)


def twilio_created(request: HttpRequest) -> HttpReply:
    form = request.form()
    return HttpReply(201, {"sid": "SM" + "1" * 32, "status": "queued", "to": form["To"],
                           "body": form["Body"]})


async def test_twilio_request_format(http_server: HttpServer) -> None:
    http_server.default = twilio_created
    provider = twilio(http_server)
    assert await provider.send(sms()) == Accepted("SM" + "1" * 32)
    await provider.aclose()
    [request] = http_server.requests
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{SID}/Messages.json")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    expected = base64.b64encode(f"{SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.form() == {"To": "+393401234567", "From": "+15550001111", "Body": "Ciao Bill!"}


async def test_twilio_whatsapp_prefixes_both_ends(http_server: HttpServer) -> None:
    http_server.default = twilio_created
    provider = twilio(http_server, "chat")
    message = OutgoingMessage("k", 1, "c", "chat", "whatsapp:+39340222", {"text": "Hi"})
    assert isinstance(await provider.send(message), Accepted)
    await provider.aclose()
    assert http_server.requests[0].form()["From"] == "whatsapp:+15550001111"
    assert http_server.requests[0].form()["To"] == "whatsapp:+39340222"


async def test_twilio_permanent_error_reason(http_server: HttpServer) -> None:
    http_server.default = HttpReply(400, {
        "code": 21211, "message": "The 'To' number +39 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
    provider = Retrying(twilio(http_server), sleep=Sleeps())
    outcome = await provider.send(sms(to="+39"))
    await provider.aclose()
    assert outcome == Permanent(
        "HTTP 400: 21211 The 'To' number +39 is not a valid phone number."
    )
    assert len(http_server.requests) == 1


async def test_twilio_does_not_send_twice_after_an_unknown_outcome(
    http_server: HttpServer,
) -> None:
    """A 500 may hide a created message: before posting again, the provider looks for it."""
    now = time.time()
    http_server.replies = [
        HttpReply(500, {"code": 20500, "message": "Internal Server Error"}),
        lambda request: HttpReply(200, {"messages": [
            {"sid": "SMother", "body": "Another text", "date_created": _rfc2822(now)},
            {"sid": "SMfound", "body": "Ciao Bill!", "date_created": _rfc2822(now + 1)},
        ]}),
    ]
    provider = Retrying(twilio(http_server, clock=lambda: now), sleep=Sleeps())
    assert await provider.send(sms()) == Accepted("SMfound")
    await provider.aclose()
    post, lookup = http_server.requests
    assert post.method == "POST"
    assert lookup.method == "GET"
    assert "To=%2B393401234567" in lookup.path and "From=%2B15550001111" in lookup.path


async def test_twilio_posts_again_when_the_lookup_finds_nothing(http_server: HttpServer) -> None:
    now = time.time()
    http_server.replies = [
        HttpReply(502, b"<html>Bad gateway</html>"),
        HttpReply(200, {"messages": [
            {"sid": "SMold", "body": "Ciao Bill!", "date_created": _rfc2822(now - 3600)},
        ]}),
    ]
    http_server.default = twilio_created
    provider = Retrying(twilio(http_server, clock=lambda: now), sleep=Sleeps())
    assert await provider.send(sms()) == Accepted("SM" + "1" * 32)
    await provider.aclose()
    assert [r.method for r in http_server.requests] == ["POST", "GET", "POST"]


async def test_twilio_429_is_retried_without_a_lookup(http_server: HttpServer) -> None:
    http_server.replies = [HttpReply(429, {"code": 20429, "message": "Too Many Requests"})]
    http_server.default = twilio_created
    sleeps = Sleeps()
    provider = Retrying(twilio(http_server), sleep=sleeps, draw=lambda: 0.0)
    assert isinstance(await provider.send(sms()), Accepted)
    await provider.aclose()
    assert [r.method for r in http_server.requests] == ["POST", "POST"]
    assert http_server.requests[0].form() == http_server.requests[1].form()


def _rfc2822(epoch: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(epoch))


# --- Webhook --------------------------------------------------------------------------------


def webhook(server: HttpServer, query: str = "secret=whsec_abc") -> WebhookProvider:
    config = parse_provider_url("sms", f"webhook+http://127.0.0.1:{server.port}/hooks/sms?{query}")
    assert isinstance(config, WebhookConfig)
    return WebhookProvider(config, clock=lambda: 1_760_000_000)


async def test_webhook_body_headers_and_signature(http_server: HttpServer) -> None:
    http_server.replies = [HttpReply(503, {"error": "busy"}), HttpReply(200, {"id": "ext-1"})]
    provider = Retrying(webhook(http_server, "secret=whsec_abc&tenant=7"), sleep=Sleeps())
    assert await provider.send(sms()) == Accepted("ext-1")
    await provider.aclose()
    first, second = http_server.requests
    assert first.path == "/hooks/sms?tenant=7"
    assert first.json() == {
        "version": "castflow.message/1", "id": "9:hello:2", "workspace": 1, "contact": "c-1",
        "channel": "sms", "to": "+393401234567", "topic": "onboarding",
        "content": {"text": "Ciao Bill!"},
    }
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == "9:hello:2"
    assert first.body == second.body
    header = second.headers["castflow-signature"]
    assert header.startswith("t=1760000000,v1=")
    assert verify_signature("whsec_abc", header, second.body, now=1_760_000_010)
    assert not verify_signature("whsec_abc", header, second.body + b" ", now=1_760_000_010)
    assert not verify_signature("other", header, second.body, now=1_760_000_010)
    assert not verify_signature("whsec_abc", header, second.body, now=1_760_009_999)  # stale


async def test_webhook_permanent_error_and_no_signature_without_secret(
    http_server: HttpServer,
) -> None:
    http_server.default = HttpReply(422, {"error": "unknown recipient"})
    provider = Retrying(webhook(http_server, ""), sleep=Sleeps())
    assert await provider.send(sms()) == Permanent("HTTP 422: unknown recipient")
    await provider.aclose()
    assert "castflow-signature" not in http_server.requests[0].headers


# --- ProviderSet as the runtime's Sender ----------------------------------------------------


async def test_provider_set_defers_and_never_resends_accepted_messages(
    http_server: HttpServer,
) -> None:
    failing = {"bad"}

    def reply(request: HttpRequest) -> HttpReply:
        key = request.json()["messages"][0]["destinations"][0]["messageId"]
        if key in failing:
            return HttpReply(500, {"requestError": {"serviceException": {"text": "down"}}})
        if key == "refused":
            return HttpReply(400, {"requestError": {"serviceException": {"text": "bad number"}}})
        return infobip_ok(request)

    http_server.default = reply
    sender = ProviderSet({"sms": infobip(http_server)}, sleep=Sleeps())
    batch = [sms(key="good"), sms(key="bad"), sms(key="refused")]
    with pytest.raises(DeliveryDeferred) as deferred:
        await sender.send(batch)
    assert deferred.value.reasons == {"bad": "HTTP 500: down"}
    sent_before = len(http_server.requests)
    assert sent_before == 1 + 4 + 1

    failing.clear()  # the provider recovers; the runtime retries the same batch
    results = await sender.send(batch)
    await sender.aclose()
    assert len(http_server.requests) == sent_before + 1  # only "bad" went out again
    assert results == [
        DeliveryResult("good", "sent", provider_id="good"),
        DeliveryResult("bad", "sent", provider_id="bad"),
        DeliveryResult("refused", "failed", "infobip: HTTP 400: bad number"),
    ]

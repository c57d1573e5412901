"""ProviderSet and WorkspaceSender as the runtime's Sender: routing, sandbox, settings."""

from __future__ import annotations

import asyncio

import pytest

from backend.channels import (
    Accepted,
    DeliveryDeferred,
    LinkSettings,
    Permanent,
    ProviderSet,
    SandboxProvider,
    SendOutcome,
    WorkspaceSender,
    sample_message,
)
from backend.runtime.sender import DeliveryResult, OutgoingMessage, Sender
from channels.servers import HttpReply, HttpServer


def message(key: str, workspace: int, channel: str = "sms") -> OutgoingMessage:
    return OutgoingMessage(key, workspace, "c-1", channel, "+39340", {"text": "hi"})


async def test_sandbox_accepts_everything() -> None:
    sandbox = SandboxProvider()
    assert await sandbox.send(message("k", 1)) == Accepted("sandbox:k")
    sender: Sender = ProviderSet({"sms": sandbox})
    assert await sender.send([message("a", 1), message("a", 1), message("b", 1)]) == [
        DeliveryResult("a", "sent", provider_id="sandbox:a"),
        DeliveryResult("b", "sent", provider_id="sandbox:b"),
    ]


async def test_channel_without_provider_fails_with_a_reason() -> None:
    sender = ProviderSet({"sms": SandboxProvider()})
    assert await sender.send([message("k", 1, "voice")]) == [
        DeliveryResult("k", "failed", "none: no provider is set up for the voice channel")
    ]
    outcome = await sender.send_one(message("k2", 1, "voice"))
    assert outcome == Permanent("no provider is set up for the voice channel")


async def test_workspace_sender_uses_each_workspace_settings(
    http_server: HttpServer, links: LinkSettings
) -> None:
    http_server.default = HttpReply(200, {"id": "ok"})
    stored = {
        1: {"sms": f"webhook+http://127.0.0.1:{http_server.port}/one"},
        2: {},  # nothing set: the sandbox
    }
    loads: list[int] = []

    async def load_urls(workspace: int) -> dict[str, str]:
        loads.append(workspace)
        return stored[workspace]

    sender: Sender = WorkspaceSender(load_urls, links, env={})
    results = await sender.send([message("w1", 1), message("w2", 2), message("w1b", 1)])
    assert sorted(r.key for r in results if r.status == "sent") == ["w1", "w1b", "w2"]
    assert [r.path for r in http_server.requests] == ["/one", "/one"]
    await sender.send([message("w1c", 1)])
    assert loads == [1, 2]  # provider sets are kept

    # The environment beats the workspace: every workspace's SMS goes to the sandbox.
    env_sender = WorkspaceSender(load_urls, links, env={"CASTFLOW_SMS_URL": "sandbox:"})
    await env_sender.send([message("w1d", 1)])
    assert len(http_server.requests) == 3
    assert isinstance(sender, WorkspaceSender)
    await sender.aclose()
    await env_sender.aclose()


async def test_workspace_sender_defers_across_workspaces(
    http_server: HttpServer, links: LinkSettings
) -> None:
    http_server.default = HttpReply(503, {"error": "down"})

    async def load_urls(workspace: int) -> dict[str, str]:
        return {"sms": f"webhook+http://127.0.0.1:{http_server.port}/"}

    async def no_wait(seconds: float) -> None:
        return None

    sender = WorkspaceSender(load_urls, links, env={}, sleep=no_wait)
    with pytest.raises(DeliveryDeferred) as deferred:
        await sender.send([message("a", 1), message("b", 2)])
    assert deferred.value.reasons == {"a": "HTTP 503: down", "b": "HTTP 503: down"}
    await sender.aclose()


async def test_sample_messages_exist_for_every_channel() -> None:
    sender = ProviderSet({c: SandboxProvider() for c in ("email", "sms", "voice", "chat", "push")})
    for channel in ("email", "sms", "voice", "chat", "push"):
        sample = sample_message(1, channel, "someone", key=f"test:{channel}")
        assert sample.content
        assert isinstance(await sender.send_one(sample), Accepted)


class CountingProvider:
    """Counts deliveries per key; 'boom' raises (a provider bug), others are accepted."""

    name = "counting"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.gate = asyncio.Event()

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        await self.gate.wait()
        self.sent.append(message.key)
        if message.key == "boom":
            raise RuntimeError("provider bug")
        return Accepted(message.key)

    async def aclose(self) -> None:
        return None


async def test_overlapping_calls_share_one_delivery() -> None:
    provider = CountingProvider()
    sender = ProviderSet({"sms": provider})
    first = asyncio.create_task(sender.send([message("k", 1)]))
    second = asyncio.create_task(sender.send([message("k", 1)]))
    await asyncio.sleep(0)
    provider.gate.set()
    assert await first == await second == [DeliveryResult("k", "sent", provider_id="k")]
    assert provider.sent == ["k"]


async def test_a_provider_bug_raises_after_remembering_what_went_out() -> None:
    provider = CountingProvider()
    provider.gate.set()
    sender = ProviderSet({"sms": provider})
    with pytest.raises(RuntimeError, match="provider bug"):
        await sender.send([message("ok", 1), message("boom", 1)])
    with pytest.raises(RuntimeError):
        await sender.send([message("ok", 1), message("boom", 1)])
    assert provider.sent == ["ok", "boom", "boom"]  # "ok" went out once

"""Providers behind the runtime's `Sender` protocol: one `ProviderSet` per workspace.

`ProviderSet.send` hands each message to its channel's provider through `Retrying`, and turns
outcomes into `DeliveryResult`s: accepted -> `sent`; permanent -> `failed` with the provider's
reason; still transient after the last attempt -> `DeliveryDeferred` is raised, so the job is
tried again later (the Sender contract: raising means "try again later").

Final results are remembered per key (bounded): when a batch is retried because one message
was deferred, the messages already accepted are not handed to their providers a second time;
and two overlapping calls with the same key share one delivery.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from backend.channels.base import (
    Accepted,
    Permanent,
    Provider,
    Retrying,
    RetryPolicy,
    SendOutcome,
    Sleep,
    Transient,
)
from backend.channels.config import (
    ChannelSettings,
    FcmConfig,
    InfobipConfig,
    LinkSettings,
    SmtpConfig,
    TwilioConfig,
    WebhookConfig,
    WebPushAndFcmConfig,
    WebPushConfig,
    resolve_channels,
)
from backend.channels.email import SmtpProvider
from backend.channels.http_providers import InfobipProvider, TwilioProvider
from backend.channels.push import FcmProvider, PushRouter, WebPushProvider
from backend.channels.sandbox import SandboxProvider
from backend.channels.webhook import WebhookProvider
from backend.runtime.sender import DeliveryResult, OutgoingMessage


class DeliveryDeferred(Exception):
    """Some messages met only transient errors, retries included: try the job again later."""

    def __init__(self, reasons: Mapping[str, str]) -> None:
        self.reasons = dict(reasons)  # key -> last transient reason
        sample = "; ".join(f"{k}: {r}" for k, r in list(self.reasons.items())[:3])
        super().__init__(f"{len(self.reasons)} message(s) deferred ({sample})")


def build_provider(settings: ChannelSettings, links: LinkSettings) -> Provider:
    """The provider a channel's settings describe (nothing is connected until the first send)."""
    config = settings.config
    if isinstance(config, SmtpConfig):
        return SmtpProvider(config, links)
    if isinstance(config, InfobipConfig):
        return InfobipProvider(config, settings.channel)
    if isinstance(config, TwilioConfig):
        return TwilioProvider(config, settings.channel)
    if isinstance(config, WebhookConfig):
        return WebhookProvider(config)
    if isinstance(config, WebPushConfig):
        return WebPushProvider(config)
    if isinstance(config, FcmConfig):
        return FcmProvider(config)
    if isinstance(config, WebPushAndFcmConfig):
        return PushRouter(WebPushProvider(config.webpush), FcmProvider(config.fcm))
    return SandboxProvider()


class ProviderSet:
    """Channel -> provider for one workspace; implements the runtime's `Sender` protocol."""

    REMEMBERED = 100_000

    def __init__(
        self,
        providers: Mapping[str, Provider],
        policy: RetryPolicy | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        draw: Callable[[], float] = random.random,
        concurrency: int = 32,
    ) -> None:
        self.providers = dict(providers)
        self.retrying = {
            channel: Retrying(provider, policy, sleep=sleep, draw=draw)
            for channel, provider in self.providers.items()
        }
        self._limit = asyncio.Semaphore(concurrency)
        self._done: OrderedDict[str, DeliveryResult] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[SendOutcome]] = {}

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, ChannelSettings], links: LinkSettings, **options: Any
    ) -> ProviderSet:
        return cls({c: build_provider(s, links) for c, s in settings.items()}, **options)

    async def send_one(self, message: OutgoingMessage) -> SendOutcome:
        """One message through its channel's provider, retries included (no memory of keys):
        what a "send a test message" button wants."""
        retrying = self.retrying.get(message.channel)
        if retrying is None:
            return Permanent(f"no provider is set up for the {message.channel} channel")
        async with self._limit:
            return await retrying.send(message)

    async def send(self, messages: list[OutgoingMessage]) -> list[DeliveryResult]:
        unique = _unique(messages)
        pending = [m for m in unique if m.key not in self._done]
        outcomes = await asyncio.gather(
            *(self._send_shared(m) for m in pending), return_exceptions=True
        )
        deferred: dict[str, str] = {}
        failure: BaseException | None = None
        for message, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                failure = failure or outcome
            elif isinstance(outcome, Transient):
                deferred[message.key] = outcome.reason
            else:
                self._remember(_result(message, outcome, self._provider_name(message)))
        # Everything that went out is remembered before anything is raised, so the job's
        # retry does not send it again.
        if failure is not None:
            raise failure
        if deferred:
            raise DeliveryDeferred(deferred)
        return [self._done[m.key] for m in unique]

    async def _send_shared(self, message: OutgoingMessage) -> SendOutcome:
        """Two overlapping calls with the same key (a duplicate job) share one delivery."""
        task = self._inflight.get(message.key)
        if task is None:
            task = asyncio.ensure_future(self.send_one(message))
            self._inflight[message.key] = task
            task.add_done_callback(lambda _: self._inflight.pop(message.key, None))
        return await asyncio.shield(task)

    def _provider_name(self, message: OutgoingMessage) -> str:
        provider = self.providers.get(message.channel)
        return provider.name if provider is not None else "none"

    def _remember(self, result: DeliveryResult) -> None:
        self._done[result.key] = result
        self._done.move_to_end(result.key)
        while len(self._done) > self.REMEMBERED:
            self._done.popitem(last=False)

    async def aclose(self) -> None:
        await asyncio.gather(*(p.aclose() for p in self.providers.values()))


def _unique(messages: Iterable[OutgoingMessage]) -> list[OutgoingMessage]:
    seen: dict[str, OutgoingMessage] = {}
    for message in messages:
        seen.setdefault(message.key, message)
    return list(seen.values())


def _result(message: OutgoingMessage, outcome: SendOutcome, provider: str) -> DeliveryResult:
    if isinstance(outcome, Accepted):
        return DeliveryResult(message.key, "sent", provider_id=outcome.provider_id or None)
    assert isinstance(outcome, Permanent)
    return DeliveryResult(message.key, "failed", f"{provider}: {outcome.reason}")


# What "send a test message" sends on each channel, from Settings -> Channels.
TEST_CONTENT: dict[str, dict[str, str]] = {
    "email": {
        "subject": "Castflow test message",
        "text": "This is a test message from Castflow: your email provider works.",
    },
    "sms": {"text": "Castflow test message: your SMS provider works."},
    "voice": {"text": "This is a test call from Castflow. Your voice provider works."},
    "chat": {"text": "Castflow test message: your chat provider works."},
    "push": {"title": "Castflow", "body": "Test message: your push provider works."},
}


def sample_message(workspace: int, channel: str, to: str, key: str) -> OutgoingMessage:
    """A test message for the settings page; `key` should be unique per click (it is the
    idempotency key: the same key twice may be delivered once)."""
    return OutgoingMessage(key, workspace, "", channel, to, dict(TEST_CONTENT[channel]))


WorkspaceUrls = Callable[[int], Awaitable[Mapping[str, str]]]


class WorkspaceSender:
    """The runtime's `Sender` for every workspace: each message goes through its workspace's
    `ProviderSet`, built on first use from the environment and the workspace's stored URLs
    (`load_urls(workspace) -> {channel: url}`), and kept until `forget(workspace)` (call it
    when a workspace's channel settings change)."""

    def __init__(
        self,
        load_urls: WorkspaceUrls,
        links: LinkSettings,
        env: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        self.load_urls = load_urls
        self.links = links
        self.env = env
        self.options = options
        self.sets: dict[int, ProviderSet] = {}
        self._building = asyncio.Lock()

    async def provider_set(self, workspace: int) -> ProviderSet:
        async with self._building:  # two first sends must not build (and leak) two sets
            if workspace not in self.sets:
                settings = resolve_channels(self.env, await self.load_urls(workspace))
                self.sets[workspace] = ProviderSet.from_settings(
                    settings, self.links, **self.options
                )
        return self.sets[workspace]

    async def send(self, messages: list[OutgoingMessage]) -> list[DeliveryResult]:
        by_workspace: dict[int, list[OutgoingMessage]] = {}
        for message in messages:
            by_workspace.setdefault(message.workspace, []).append(message)
        results: list[DeliveryResult] = []
        deferred: dict[str, str] = {}
        for workspace, batch in by_workspace.items():
            providers = await self.provider_set(workspace)
            try:
                results.extend(await providers.send(batch))
            except DeliveryDeferred as error:
                deferred.update(error.reasons)
        if deferred:
            raise DeliveryDeferred(deferred)
        return results

    async def forget(self, workspace: int) -> None:
        providers = self.sets.pop(workspace, None)
        if providers is not None:
            await providers.aclose()

    async def aclose(self) -> None:
        for workspace in list(self.sets):
            await self.forget(workspace)

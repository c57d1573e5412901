"""A workspace's provider URLs (Settings -> Channels), stored encrypted.

Provider URLs hold secrets (SMTP passwords, API keys, webhook secrets), so the database only ever
sees them encrypted with Fernet (AES-128-CBC + HMAC, `cryptography`). The key is derived with
HKDF from `CASTFLOW_SECRET_KEY`, or, without it, is a random key kept in
`var/channel-settings.key`, made on first use (the same approach as the link signing key).

The worker reads the decrypted URLs through `StoredChannels`, which also notices, at most every
`recheck` seconds per workspace, that the settings changed and makes the `WorkspaceSender` build
that workspace's providers again: a PUT or DELETE takes effect within seconds, without a restart.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.db import Database
from backend.runtime.sender import DeliveryResult, OutgoingMessage, Sender

KEY_FILE = "channel-settings.key"
# HKDF's `info` separates this key from every other key derived from CASTFLOW_SECRET_KEY.
HKDF_INFO = b"castflow channel settings v1"
RECHECK_SECONDS = 2.0


class ChannelSettingsError(Exception):
    """A stored setting that cannot be read (e.g. encrypted under another key); never a secret."""


def settings_cipher(env: Mapping[str, str] | None = None, var_dir: Path | None = None) -> Fernet:
    """The cipher for stored provider URLs: from `CASTFLOW_SECRET_KEY`, else the key file."""
    env = os.environ if env is None else env
    secret = env.get("CASTFLOW_SECRET_KEY")
    if secret:
        if len(secret) < 16:
            raise ChannelSettingsError("CASTFLOW_SECRET_KEY must be at least 16 characters long")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
            secret.encode()
        )
        return Fernet(base64.urlsafe_b64encode(derived))
    if var_dir is None:
        raise ChannelSettingsError("set CASTFLOW_SECRET_KEY (no var directory to keep a key in)")
    path = var_dir / KEY_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL: the API and the worker starting together keep whichever key was written first.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key())
    key = path.read_bytes().strip()
    try:
        return Fernet(key)
    except ValueError:
        raise ChannelSettingsError(
            f"{path} does not hold a valid key; restore it (or set CASTFLOW_SECRET_KEY)"
        ) from None


def _decrypt(cipher: Fernet, channel: str, token: str) -> str:
    try:
        return cipher.decrypt(token.encode()).decode()
    except InvalidToken:
        raise ChannelSettingsError(
            f"the stored {channel} provider cannot be decrypted with this server's key "
            "(CASTFLOW_SECRET_KEY or var/channel-settings.key changed): set it again"
        ) from None


async def _rows(db: Database, workspace: int) -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT channel, url_encrypted FROM channel_settings WHERE workspace = {} "
        "ORDER BY channel",
        workspace,
    )


async def stored_urls(db: Database, cipher: Fernet, workspace: int) -> dict[str, str]:
    """channel -> provider URL as saved (secrets included: for building providers only).
    Raises `ChannelSettingsError` when one cannot be decrypted."""
    return {
        row["channel"]: _decrypt(cipher, row["channel"], row["url_encrypted"])
        for row in await _rows(db, workspace)
    }


async def readable_urls(
    db: Database, cipher: Fernet, workspace: int
) -> tuple[dict[str, str], dict[str, str]]:
    """(channel -> URL, channel -> why it cannot be read): for the settings page, which shows
    an unreadable setting instead of failing."""
    urls: dict[str, str] = {}
    problems: dict[str, str] = {}
    for row in await _rows(db, workspace):
        try:
            urls[row["channel"]] = _decrypt(cipher, row["channel"], row["url_encrypted"])
        except ChannelSettingsError as error:
            problems[row["channel"]] = str(error)
    return urls, problems


async def put_url(
    db: Database, cipher: Fernet, workspace: int, channel: str, url: str, now: datetime
) -> None:
    """Save a channel's provider URL (already checked with `parse_provider_url`)."""
    token = cipher.encrypt(url.encode()).decode()
    async with db.write():
        await db.execute(
            "INSERT INTO channel_settings (workspace, channel, url_encrypted, updated_at) "
            "VALUES ({}, {}, {}, {}) ON CONFLICT (workspace, channel) DO UPDATE SET "
            "url_encrypted = excluded.url_encrypted, updated_at = excluded.updated_at",
            workspace, channel, token, now,
        )


async def delete_url(db: Database, workspace: int, channel: str) -> bool:
    """Forget a channel's provider URL; False when there was none."""
    async with db.write():
        rows = await db.fetch(
            "DELETE FROM channel_settings WHERE workspace = {} AND channel = {} RETURNING id",
            workspace, channel,
        )
    return bool(rows)


def _fingerprint(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    # Fernet tokens carry a fresh IV and timestamp: any PUT changes them, a DELETE drops one.
    return tuple(f"{row['channel']}={row['url_encrypted']}" for row in rows)


class Forgetting(Protocol):
    """What `StoredChannels` needs of the sender: `WorkspaceSender` has it."""

    async def forget(self, workspace: int) -> None: ...


class StoredChannels:
    """The worker's view of the stored settings: `load_urls` for `WorkspaceSender`, and
    `refresh`, which drops a workspace's providers when its stored settings changed (checked
    at most every `recheck` seconds per workspace, so a busy worker pays one small query per
    workspace every few seconds)."""

    def __init__(
        self,
        db: Database,
        cipher: Fernet,
        recheck: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.recheck = recheck
        self.clock = clock
        self._seen: dict[int, tuple[str, ...]] = {}  # workspace -> tokens the providers use
        self._checked: dict[int, float] = {}

    async def load_urls(self, workspace: int) -> dict[str, str]:
        rows = await _rows(self.db, workspace)
        urls = {r["channel"]: _decrypt(self.cipher, r["channel"], r["url_encrypted"]) for r in rows}
        self._seen[workspace] = _fingerprint(rows)
        self._checked[workspace] = self.clock()
        return urls

    async def refresh(self, sender: Forgetting, workspaces: Iterable[int]) -> None:
        now = self.clock()
        for workspace in set(workspaces):
            if workspace not in self._seen or now - self._checked[workspace] < self.recheck:
                continue  # never built (load_urls will read it) or checked a moment ago
            self._checked[workspace] = now
            if _fingerprint(await _rows(self.db, workspace)) != self._seen[workspace]:
                del self._seen[workspace]
                await sender.forget(workspace)


class _ForgettingSender(Sender, Forgetting, Protocol):
    async def aclose(self) -> None: ...


class RefreshingSender:
    """A `Sender` that checks for changed settings (`StoredChannels.refresh`) before each batch."""

    def __init__(self, sender: _ForgettingSender, channels: StoredChannels) -> None:
        self.sender = sender
        self.channels = channels

    async def send(self, messages: list[OutgoingMessage]) -> list[DeliveryResult]:
        await self.channels.refresh(self.sender, (m.workspace for m in messages))
        return await self.sender.send(messages)

    async def aclose(self) -> None:
        await self.sender.aclose()

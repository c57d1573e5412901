"""The sandbox provider: accepts every message and delivers nothing.

The default for every channel of a new workspace, so flows can be built and run end to end
before any provider is set up. It remembers nothing: the message rows are the record.
"""

from __future__ import annotations

from backend.channels.base import Accepted, SendOutcome
from backend.runtime.sender import OutgoingMessage


class SandboxProvider:
    name = "sandbox"

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        return Accepted(f"sandbox:{message.key}")

    async def aclose(self) -> None:
        return None

"""Channel facts shared by the channel choice and send kinds: addresses and consent.

The rules themselves live in `flows.policy` (the delivery policy's gate needs them too); this
module names them for the node kinds.
"""

from __future__ import annotations

from typing import Any

from flows.policy import CHANNELS, Channel, address_for, blocked

__all__ = ["CHANNELS", "Channel", "address_for", "reach", "unreachable_reason"]


def reach(contact: dict[str, Any], channel: str) -> tuple[str | None, str | None]:
    """(address, None) when `channel` can be used for this contact, else (None, reason)."""
    reason = blocked(contact, channel, None)
    return (address_for(contact, channel), None) if reason is None else (None, reason)


def unreachable_reason(contact: dict[str, Any], channel: str) -> str | None:
    """Why `channel` cannot be used for this contact (`opted_out`, `no_address`), or None.

    An opt-out is reported before a missing address: it is the answer that matters to the
    marketer, and it stays true when an address is added later.
    """
    return blocked(contact, channel, None)

"""The node catalogue: one module per node kind. Add a kind by adding a module and listing it."""

from flows.catalogue import Catalogue
from nodes import (
    channel_choice,
    exit,
    segment_filter,
    send,
    split,
    trigger,
    update_contact,
    wait,
)

CATALOGUE = Catalogue([
    trigger.KIND,
    segment_filter.KIND,
    channel_choice.KIND,
    wait.KIND,
    send.KIND,
    split.KIND,
    update_contact.KIND,
    exit.KIND,
])

__all__ = ["CATALOGUE"]

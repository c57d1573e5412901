"""Group commit: many concurrent callers, one call of the expensive thing for all of them.

`Batcher.submit(items)` queues the caller's items and waits. While no call is running, the
first caller's items start one at once (an idle system adds no delay); whatever arrives while a
call runs goes into the next call, whole submissions at a time up to `max_items`. So the batch
size follows the load by itself: one request alone commits alone, a hundred concurrent ones share
a transaction. Each caller gets back the results of its own items, or the call's exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("castflow.runtime")


class Batcher(Generic[T, R]):
    def __init__(self, process: Callable[[list[T]], Awaitable[list[R]]],
                 max_items: int = 5000) -> None:
        """`process(items)` returns one result per item, in order."""
        self.process = process
        self.max_items = max_items
        self._pending: list[tuple[list[T], asyncio.Future[list[R]]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, items: list[T]) -> list[R]:
        if not items:
            return []
        future: asyncio.Future[list[R]] = asyncio.get_running_loop().create_future()
        self._pending.append((items, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        # A caller that goes away (a client disconnecting) does not cancel the batch: the
        # other callers' items are in it too.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._pending:
            batch: list[tuple[list[T], asyncio.Future[list[R]]]] = []
            size = 0
            while self._pending and (not batch or size + len(self._pending[0][0])
                                     <= self.max_items):
                submission = self._pending.pop(0)
                batch.append(submission)
                size += len(submission[0])
            try:
                results = await self.process([item for items, _ in batch for item in items])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException as exc:  # cancelled (shutting down): nobody waits in vain
                for _, future in [*batch, *self._pending]:
                    if not future.done():
                        future.set_exception(exc)
                self._pending = []
                raise
            begin = 0
            for items, future in batch:
                if not future.done():
                    future.set_result(results[begin:begin + len(items)])
                begin += len(items)

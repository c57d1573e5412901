"""The group commit: concurrent callers share one call, each gets its own results or error."""

from __future__ import annotations

import asyncio

import pytest

from backend.runtime.batching import Batcher


async def test_concurrent_submissions_share_calls_and_get_their_own_results() -> None:
    calls: list[list[int]] = []

    async def double(items: list[int]) -> list[int]:
        calls.append(items)
        await asyncio.sleep(0.01)  # a slow commit: others arrive meanwhile
        return [2 * item for item in items]

    batcher: Batcher[int, int] = Batcher(double)
    first = asyncio.create_task(batcher.submit([-1]))
    await asyncio.sleep(0.001)  # its call is under way: it ran alone, without waiting
    results = await asyncio.gather(*(batcher.submit([n, n + 100]) for n in range(20)))
    assert await first == [-2]
    assert results == [[2 * n, 2 * (n + 100)] for n in range(20)]
    # Everyone who came while the first call ran shares the second call.
    assert calls == [[-1], [item for n in range(20) for item in (n, n + 100)]]


async def test_a_batch_never_exceeds_max_items_but_keeps_submissions_whole() -> None:
    calls: list[list[int]] = []

    async def echo(items: list[int]) -> list[int]:
        calls.append(items)
        await asyncio.sleep(0)
        return items

    batcher: Batcher[int, int] = Batcher(echo, max_items=5)
    results = await asyncio.gather(*(batcher.submit([n] * 3) for n in range(6)))
    assert results == [[n] * 3 for n in range(6)]
    assert all(len(call) <= 5 or len(set(call)) == 1 for call in calls)
    assert all(len(call) % 3 == 0 for call in calls)


async def test_a_failed_call_fails_its_callers_only() -> None:
    async def picky(items: list[int]) -> list[int]:
        await asyncio.sleep(0.01)
        if 13 in items:
            raise ValueError("unlucky")
        return items

    batcher: Batcher[int, int] = Batcher(picky)
    first = asyncio.create_task(batcher.submit([1]))
    await asyncio.sleep(0)  # the first call is under way; the next two share the second
    unlucky = asyncio.create_task(batcher.submit([13]))
    fellow = asyncio.create_task(batcher.submit([2]))
    assert await first == [1]
    with pytest.raises(ValueError, match="unlucky"):
        await unlucky
    with pytest.raises(ValueError, match="unlucky"):
        await fellow
    assert await batcher.submit([3]) == [3]  # and the batcher goes on


async def test_a_caller_that_goes_away_does_not_cancel_the_others() -> None:
    done: list[list[int]] = []

    async def slow(items: list[int]) -> list[int]:
        await asyncio.sleep(0.02)
        done.append(items)
        return items

    batcher: Batcher[int, int] = Batcher(slow)
    leaving = asyncio.create_task(batcher.submit([1]))
    staying = asyncio.create_task(batcher.submit([2]))
    await asyncio.sleep(0.005)
    leaving.cancel()
    assert await staying == [2]
    assert done == [[1, 2]]  # the cancelled caller's items were written all the same

"""kopf's index pre-population wakes its waiters only when the set's state flips (see deployreq.wiring.kopf_startup)."""

from __future__ import annotations

import asyncio

from kopf._cogs.aiokits import aiotoggles

from deployreq.wiring import kopf_startup


async def test_waiters_for_the_set_wake_once_all_toggles_are_dropped() -> None:
    assert kopf_startup.apply()
    toggles = aiotoggles.ToggleSet(all)
    blockers = [await toggles.make_toggle(name=f"object-{i}") for i in range(1000)]
    waiter = asyncio.create_task(toggles.wait_for(True))
    await asyncio.sleep(0)
    notified = 0
    original = toggles._condition.notify_all

    def counting() -> None:
        nonlocal notified
        notified += 1
        original()

    toggles._condition.notify_all = counting  # type: ignore[method-assign]
    for blocker in blockers[:-1]:
        await toggles.drop_toggle(blocker)
        assert not waiter.done()
    assert notified == 0  # 999 drops that change nothing wake nobody
    await toggles.drop_toggle(blockers[-1])
    await asyncio.wait_for(waiter, 1)
    assert notified == 1


async def test_adding_an_off_toggle_to_an_on_set_wakes_those_waiting_for_off() -> None:
    kopf_startup.apply()
    toggles = aiotoggles.ToggleSet(all)
    waiter = asyncio.create_task(toggles.wait_for(False))
    await asyncio.sleep(0)
    assert not waiter.done()
    await toggles.make_toggle(False)
    await asyncio.wait_for(waiter, 1)


async def test_a_single_toggle_turned_on_still_wakes_its_waiters() -> None:
    kopf_startup.apply()
    toggles = aiotoggles.ToggleSet(any)
    toggle = await toggles.make_toggle(False)
    waiter = asyncio.create_task(toggles.wait_for(True))
    await asyncio.sleep(0)
    await toggle.turn_to(True)
    await asyncio.wait_for(waiter, 1)
    await toggles.drop_toggles([toggle])
    assert toggles.is_off()


def test_applying_twice_is_harmless() -> None:
    assert kopf_startup.apply()
    assert kopf_startup.apply()

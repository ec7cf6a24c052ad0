"""A fix for kopf's start-up over many objects.

With index handlers, kopf holds every object's processing until all indexes are filled: each object adds a toggle to
one ``ToggleSet`` and drops it once indexed, and every object waits on that set's condition. kopf wakes *all*
waiters on every add and drop, so a start over n objects costs O(n²) wake-ups: 2,000 finished requests kept the
operator at 100 % CPU for 8 s, 5,000 for over 30 s, 10,000 for minutes (make bench, docs/performance.md).

Adding or dropping a toggle changes no single toggle's state; waiters only wait for the set's overall state. So the
set needs to wake its waiters only when that overall state flips. :func:`apply` makes ``make_toggle``,
``drop_toggle`` and ``drop_toggles`` do exactly that, and nothing else. It checks that kopf's class still looks as
expected and leaves it alone (with a warning) otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

_MARK = "_deployreq_wakes_on_flip_only"


def apply() -> bool:
    """Patch kopf's ToggleSet; True when patched (or already patched)."""
    try:
        from kopf._cogs.aiokits import aiotoggles
    except ImportError:
        log.warning("kopf's toggles were not found; start-up over many objects stays quadratic")
        return False
    cls: Any = aiotoggles.ToggleSet
    if getattr(cls, _MARK, False):
        return True
    probe = cls(all)
    if not all(hasattr(cls, m) for m in ("make_toggle", "drop_toggle", "drop_toggles", "is_on")) or not (
        hasattr(probe, "_condition") and hasattr(probe, "_toggles")
    ):
        log.warning("kopf's ToggleSet changed shape; start-up over many objects stays quadratic")
        return False
    toggle_cls = aiotoggles.Toggle

    async def make_toggle(self: Any, __val: bool = False, *, name: str | None = None) -> Any:
        toggle = toggle_cls(__val, name=name, condition=self._condition)
        async with self._condition:
            before = self.is_on()
            self._toggles.add(toggle)
            if self.is_on() != before:
                self._condition.notify_all()
        return toggle

    async def drop_toggle(self: Any, toggle: Any) -> None:
        async with self._condition:
            before = self.is_on()
            self._toggles.discard(toggle)
            if self.is_on() != before:
                self._condition.notify_all()

    async def drop_toggles(self: Any, toggles: Iterable[Any]) -> None:
        async with self._condition:
            before = self.is_on()
            self._toggles.difference_update(toggles)
            if self.is_on() != before:
                self._condition.notify_all()

    cls.make_toggle = make_toggle
    cls.drop_toggle = drop_toggle
    cls.drop_toggles = drop_toggles
    setattr(cls, _MARK, True)
    return True

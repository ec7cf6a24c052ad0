"""CronJob schedules as the real server reads them (robfig/cron's standard parser: five fields or a descriptor;
``TZ=``/``CRON_TZ=`` refused), evaluated with cronsim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _range_problem(field: str, low: int, high: int) -> str | None:
    """robfig/cron's getRange checks of one field's comma-separated parts (names such as JAN or MON pass)."""
    for part in field.split(","):
        span = part.split("/", 1)[0]
        if span in ("*", "?"):
            continue
        ends = span.split("-", 1)
        if not all(e.isdigit() for e in ends):
            continue
        start, end = int(ends[0]), int(ends[-1])
        if start < low:
            return f"beginning of range ({start}) below minimum ({low}): {part}"
        if end > high:
            return f"end of range ({end}) above maximum ({high}): {part}"
    return None


def problem(schedule: str) -> str | None:
    """Why ``schedule`` is refused (the text after ``Invalid value: "<schedule>": ``), None when it is valid."""
    if "TZ=" in schedule:
        return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    if schedule.startswith("@"):
        return (
            None
            if schedule in DESCRIPTORS or schedule.startswith("@every ")
            else f"unrecognized descriptor: {schedule}"
        )
    fields = schedule.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    for field, (low, high) in zip(fields, _BOUNDS, strict=True):
        why = _range_problem(field, low, high)
        if why is not None:
            return why
    try:
        CronSim(schedule, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        return f"unparseable schedule: {exc}"
    return None


def _every(schedule: str) -> timedelta | None:
    if not schedule.startswith("@every "):
        return None
    text, total = schedule.split(" ", 1)[1].strip(), 0.0
    units = {"h": 3600, "m": 60, "s": 1}
    number = ""
    for ch in text:
        if ch.isdigit() or ch == ".":
            number += ch
        elif ch in units and number:
            total += float(number) * units[ch]
            number = ""
    return timedelta(seconds=max(1.0, total))


def zone(name: str | None) -> ZoneInfo | timezone:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def next_after(schedule: str, after: datetime, tz: str | None = None) -> datetime:
    """The first scheduled time strictly after ``after`` (in UTC)."""
    step = _every(schedule)
    if step is not None:
        return after + step
    expression = DESCRIPTORS.get(schedule, schedule)
    local = after.astimezone(zone(tz)).replace(microsecond=0)
    found = next(iter(CronSim(expression, local)))
    return found.astimezone(UTC)


def last_due(schedule: str, since: datetime, now: datetime, tz: str | None = None) -> datetime | None:
    """The latest scheduled time in (since, now], None when there is none (mostRecentScheduleTime)."""
    latest = None
    t = next_after(schedule, since, tz)
    for _ in range(1000):
        if t > now:
            break
        latest = t
        t = next_after(schedule, t, tz)
    return latest

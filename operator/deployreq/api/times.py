"""The one time format of the API: RFC 3339 in UTC with a ``Z``, at the precision each field needs, and its parser."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(epoch: float) -> str:
    """Whole seconds (metav1.Time, as conditions and Events carry it), the fraction dropped."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_ms(epoch: float) -> str:
    """Milliseconds: the status times of runs, which a few milliseconds apart must still sort in order."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def micro_time(epoch: float) -> str:
    """Kubernetes MicroTime (a Lease's times): ``2006-01-02T15:04:05.000000Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(value: object) -> float:
    """Epoch seconds of an RFC 3339 time; ValueError when it is not one."""
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def parse_or_none(value: object) -> float | None:
    """Epoch seconds of an RFC 3339 time, or None when it is unset or not one."""
    if not value:
        return None
    try:
        return parse(value)
    except ValueError:
        return None


def epoch(value: object) -> float:
    """Epoch seconds of a status time, 0 when it is unset; ValueError when it is not RFC 3339."""
    if not value:
        return 0.0
    return parse(value)

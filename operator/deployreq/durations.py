"""Durations as kubectl users write them: ``60s``, ``15m``, ``1h30m``, ``1.5h``, ``250ms``, or plain seconds (``90``).

The unit syntax is Go's ``time.ParseDuration`` (what ``kubectl --timeout`` and ``--request-timeout`` take): one or
more decimal numbers, each with a unit of ``ns``, ``us`` (``µs``), ``ms``, ``s``, ``m`` or ``h``, no spaces. A bare
number is seconds, as the flags took before. Negative durations are refused: every duration here is a wait.
"""

from __future__ import annotations

import argparse
import math
import re

UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 micro sign
    "μs": 1e-6,  # U+03BC Greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_PLAIN = re.compile(r"\+?(\d+\.?\d*|\.\d+)")
EXAMPLES = "60s, 15m, 1h30m or plain seconds"


def parse_seconds(text: str) -> float:
    """Seconds of a duration; ValueError saying what is accepted for anything else."""
    value = text.strip()
    if _PLAIN.fullmatch(value):
        return _finite(float(value.lstrip("+")), text)
    body = value[1:] if value.startswith("+") else value
    pos, total = 0, 0.0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None:
            break
        total += float(match.group(1)) * UNITS[match.group(2)]
        pos = match.end()
    if not body or pos != len(body):
        raise ValueError(f"invalid duration {text!r}: use {EXAMPLES}")
    return _finite(total, text)


def _finite(seconds: float, text: str) -> float:
    if not math.isfinite(seconds):
        raise ValueError(f"invalid duration {text!r}: use {EXAMPLES}")
    return seconds


def duration_arg(text: str) -> float:
    """An argparse ``type=``: seconds as a float; argparse turns the error into a usage message (exit 2)."""
    try:
        return parse_seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def whole_seconds_arg(text: str) -> int:
    """An argparse ``type=`` for settings the API keeps in whole seconds (``verification.durationSeconds``)."""
    seconds = duration_arg(text)
    if seconds != int(seconds):
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: must be whole seconds")
    return int(seconds)


def format_seconds(seconds: float) -> str:
    """``1h30m``, ``2m5s``, ``45s``: how durations are shown back (rounded to whole seconds)."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts) or "0s"

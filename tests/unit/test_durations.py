"""Durations as kubectl users write them (Go's time.ParseDuration units), or plain seconds."""

from __future__ import annotations

import argparse

import pytest

from deployreq.durations import duration_arg, format_seconds, parse_seconds, whole_seconds_arg


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("60s", 60.0),
        ("15m", 900.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("2h45m30s", 9930.0),
        ("250ms", 0.25),
        ("1m0.5s", 60.5),
        ("1500us", 0.0015),
        ("1500µs", 0.0015),
        ("0", 0.0),
        ("0s", 0.0),
        ("90", 90.0),
        ("2.5", 2.5),
        ("+5m", 300.0),
        (".5s", 0.5),
        (" 30s ", 30.0),
    ],
)
def test_kubectl_style_durations_and_plain_seconds_are_accepted(text: str, seconds: float) -> None:
    assert parse_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["", "s", "60 s", "1h30", "5d", "1w", "-5s", "-5", "1e3s", "abc", "5sec", "1h 30m", ".s", "nan", "inf"],
)
def test_anything_else_is_refused_saying_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .*60s, 15m, 1h30m or plain seconds"):
        parse_seconds(text)


def test_argparse_types_turn_errors_into_usage_errors() -> None:
    assert duration_arg("1h") == 3600.0
    assert whole_seconds_arg("2m") == 120
    with pytest.raises(argparse.ArgumentTypeError, match="whole seconds"):
        whole_seconds_arg("1.5s")
    with pytest.raises(argparse.ArgumentTypeError, match="invalid duration '60x'"):
        duration_arg("60x")


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (45, "45s"), (60, "1m"), (125, "2m5s"), (5400, "1h30m"), (3601, "1h1s")]
)
def test_durations_are_shown_back_in_the_same_syntax(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text
    assert parse_seconds(text) == seconds


def test_every_duration_flag_of_the_cli_takes_kubectl_durations() -> None:
    from deployreq.cli.main import build_parser

    parser = build_parser()
    run = parser.parse_args(
        [
            *("run", "--lease-duration", "1m", "--renew-interval", "10s"),
            *("--leader-lease-duration", "30s", "--leader-renew-interval", "1500ms"),
        ]
    )
    assert (run.lease_duration, run.renew_interval) == (60.0, 10.0)
    assert (run.leader_lease_duration, run.leader_renew_interval) == (30.0, 1.5)
    create = parser.parse_args(
        ["create", "r", "--deployment", "web", "--image", "app=web:2", "--verify", "1m30s", "--timeout", "1h"]
    )
    assert (create.verify, create.timeout) == (90, 3600.0)
    for command in (["apply", "-f", "x.yaml"], ["rollback", "web"], ["rerun", "r"]):
        assert parser.parse_args([*command, "--timeout", "15m"]).timeout == 900.0
    assert parser.parse_args(["rerun", "r", "--timeout", "120"]).timeout == 120.0

"""``deployreq run``'s flags come from the Settings fields: names kept, defaults and help from the fields."""

from __future__ import annotations

import dataclasses

import pytest

from deployreq.cli.flags import field_docs, run_flags, settings_from
from deployreq.cli.main import build_parser
from deployreq.config import Settings

FLAGS_BEFORE = (
    "-n", "--namespace", "-A", "--all-namespaces", "--identity", "--lease-duration", "--renew-interval",
    "--leader-elect", "--leader-election-namespace", "--leader-lease-duration", "--leader-renew-interval",
    "--crash-restart-threshold", "--image-pull-grace", "--max-verification", "--max-rollout-timeout",
    "--api-retries", "--metrics-port", "--metrics-host", "--health-port", "--log-format", "-v", "--verbose",
)  # fmt: skip


def run_help() -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return " ".join(sub.choices["run"].format_help().split())  # type: ignore[attr-defined]


def test_every_flag_of_deployreq_run_is_still_there() -> None:
    text = run_help()
    for name in FLAGS_BEFORE:
        assert f"{name} " in text or f"{name}," in text, name


def test_every_setting_but_the_api_backoff_has_a_flag_documented_by_its_field() -> None:
    flagged = {flag.field.name for flag in run_flags()}
    assert flagged == {f.name for f in dataclasses.fields(Settings)} - {"api_retry_backoff_seconds"}
    text = run_help()
    for flag in run_flags():
        assert " ".join(flag.doc.replace("``", "").split()[:4]) in text, flag.name


def test_no_flags_give_the_field_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "pod-1")
    monkeypatch.setenv("POD_NAMESPACE", "ops")
    settings = settings_from(build_parser().parse_args(["run"]))
    assert settings == Settings()
    assert (settings.identity, settings.leader_namespace, settings.all_namespaces) == ("pod-1", "ops", True)


def test_each_flag_sets_its_field() -> None:
    args = build_parser().parse_args(
        [
            *(
                "run",
                "-n",
                "a",
                "-n",
                "b",
                "--identity",
                "me",
                "--lease-duration",
                "1m",
                "--renew-interval",
                "250ms",
            ),
            *("--leader-elect", "--leader-election-namespace", "lead", "--leader-lease-duration", "20s"),
            *("--leader-renew-interval", "1.5s", "--crash-restart-threshold", "4", "--image-pull-grace", "0"),
            *("--max-verification", "2h", "--max-rollout-timeout", "90m", "--api-retries", "7"),
            *("--metrics-port", "9000", "--metrics-host", "0.0.0.0", "--health-port", "8080"),
            *("--log-format", "text", "-v"),
        ]
    )
    assert settings_from(args) == Settings(
        namespaces=("a", "b"),
        all_namespaces=False,
        identity="me",
        lease_duration_seconds=60.0,
        renew_interval_seconds=0.25,
        leader_elect=True,
        leader_namespace="lead",
        leader_lease_duration_seconds=20.0,
        leader_renew_interval_seconds=1.5,
        crash_restart_threshold=4,
        image_pull_grace_seconds=0.0,
        max_verification_seconds=7200.0,
        max_rollout_timeout_seconds=5400.0,
        api_retry_attempts=7,
        metrics_port=9000,
        metrics_host="0.0.0.0",
        health_port=8080,
        log_format="text",
        verbose=True,
    )


def test_field_docs_are_read_from_the_source() -> None:
    docs = field_docs(Settings)
    assert docs["verbose"] == "Log at debug level."
    assert set(docs) == {f.name for f in dataclasses.fields(Settings)}

"""What the CLI prints, without a cluster: the queue table, phase and progress lines, help texts, rollback targets."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from deployreq.cli.follow import Progress, phase_line, progress_line
from deployreq.cli.main import build_parser
from deployreq.cli.queue import queue_table
from deployreq.decide import rollback

LONG = "release-of-the-web-frontend-for-black-friday-2026"


def test_queue_columns_stay_aligned_with_names_longer_than_24_characters() -> None:
    rows = [
        ("shop", "active", LONG, "normal", "Deploying", "web"),
        ("shop", "1", "web-2", "urgent", "Queued", "web"),
        ("a-much-longer-namespace-name", "1", "x", "low", "Queued", "api"),
    ]
    lines = queue_table(rows, {"shop": "lock held by x (operator o) since t"})
    table = [line for line in lines if "lock held" not in line]
    assert len(table) == 4
    starts = [[m.start() for m in re.finditer(r"\S+", line)] for line in table]
    for column in range(6):
        assert len({s[column] for s in starts}) == 1, (column, table)
    assert lines[1].startswith("a-much-longer-namespace-name")
    assert lines[2] == "shop                           lock held by x (operator o) since t"


def test_phase_lines_align_to_the_longest_followed_name() -> None:
    objs = [
        {"metadata": {"name": LONG}, "status": {"phase": "Deploying", "message": "m"}},
        {"metadata": {"name": "web"}, "status": {"phase": "Queued", "queuePosition": 2, "message": "m"}},
    ]
    lines = [phase_line(o, now=0, name_width=len(LONG)) for o in objs]
    assert lines[0].index("Deploying") == lines[1].index("Queued")


def request(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web-1-1"},
        "spec": {
            "deployment": "web",
            "images": [{"container": "app", "image": "registry.example/web:1.1"}],
            "verification": {"durationSeconds": 60},
        },
        "status": status,
    }


def test_the_progress_line_tells_phase_time_waited_verification_left_and_gates() -> None:
    obj = request(
        phase="Verifying",
        verifyingSince="2026-11-30T12:00:00Z",
        gates=[
            {"name": "smoke", "stage": "post", "kind": "http", "phase": "Passed"},
            {"name": "errors", "stage": "post", "kind": "prometheus", "phase": "Passing"},
        ],
    )
    now = 1_796_040_035.0  # 35 s into the window
    assert progress_line(obj, now, 65) == (
        "web-1-1  Verifying  waited 1m5s  verification 25s left  gates: smoke Passed, errors Passing"
    )
    queued = request(phase="Queued", nextAttemptAt="2026-11-30T12:00:40Z")
    assert progress_line(queued, now, 3).endswith("next attempt in 5s")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_live_line_and_a_log_gets_no_control_characters() -> None:
    obj = request(phase="Deploying", message="Patched")
    tty = Terminal()
    live = Progress.for_stream(tty)
    live.phase(obj)
    live.tick(obj)
    live.tick(obj)
    live.done()
    text = tty.getvalue()
    assert text.count("\r\x1b[K") >= 3 and "web-1-1  Deploying  waited" in text
    log = io.StringIO()
    plain = Progress.for_stream(log, heartbeat=0.0)
    plain.phase(obj)
    plain.tick(obj)
    plain.done()
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and "Deploying  waited 0s" in lines[1]
    assert "\x1b" not in log.getvalue() and "\r" not in log.getvalue()


def test_a_log_gets_a_progress_line_only_after_the_heartbeat() -> None:
    log = io.StringIO()
    plain = Progress.for_stream(log, heartbeat=30.0)
    plain.phase(request(phase="Verifying"))
    plain.tick(request(phase="Verifying"))
    assert len(log.getvalue().splitlines()) == 1


def test_the_service_transport_help_gives_the_default_and_what_proxy_trusts() -> None:
    run = build_parser()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    text = " ".join(run.format_help().split())
    assert "(default dns)" in text
    assert "with the operator's own credentials" in text
    assert "never follows a redirect" in text
    assert "use it only when the operator runs outside the cluster" in text


def succeeded(
    name: str, image: str, ended: str, before: str | None = None, phase: str = "Succeeded"
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": phase,
        "completedAt": ended,
        "images": [{"container": "app", "image": image}],
    }
    if before:
        status["previousImages"] = [{"container": "app", "image": before}]
    return {"metadata": {"name": name}, "spec": {"deployment": "web"}, "status": status}


def test_after_an_automatic_rollback_the_last_good_images_are_already_running() -> None:
    reqs = [
        succeeded("web-1-1", "web:1.1", "2026-11-30T10:00:00Z", before="web:1.0"),
        succeeded("web-2-0", "web:2.0-crashloop", "2026-11-30T11:00:00Z", phase="RolledBack"),
    ]
    with pytest.raises(
        rollback.NothingToRestore, match='already runs the last good images, those of request "web-1-1"'
    ):
        rollback.last_good_images(reqs, "web", {"app": "web:1.1"})


def test_rolling_back_a_good_release_restores_the_one_before_it() -> None:
    reqs = [
        succeeded("web-1-1", "web:1.1", "2026-11-30T10:00:00Z", before="web:1.0"),
        succeeded("web-1-2", "web:1.2", "2026-11-30T11:00:00Z", before="web:1.1"),
    ]
    good = rollback.last_good_images(reqs, "web", {"app": "web:1.2"})
    assert good.images == {"app": "web:1.1"} and 'request "web-1-1"' in good.source
    first = rollback.last_good_images(reqs[:1], "web", {"app": "web:1.1"})
    assert first.images == {"app": "web:1.0"} and first.source.startswith("the images from before")


def test_a_deployment_changed_by_hand_gets_the_last_good_images_back() -> None:
    reqs = [succeeded("web-1-1", "web:1.1", "2026-11-30T10:00:00Z")]
    good = rollback.last_good_images(reqs, "web", {"app": "web:hotfix"})
    assert good.images == {"app": "web:1.1"}


def test_without_a_good_release_the_user_is_told_how_to_name_one() -> None:
    with pytest.raises(rollback.UndoError, match="--to-revision N"):
        rollback.last_good_images([], "web", {"app": "web:1"})


def test_a_request_no_operator_answers_is_said_so_in_the_log() -> None:
    log = io.StringIO()
    plain = Progress.for_stream(log, heartbeat=0.0)
    plain.tick({"metadata": {"name": "web-1-1"}}, answered=False)
    assert "web-1-1  waited 0s  no answer from the operator yet (is `deployreq run` running" in log.getvalue()


def test_status_shows_when_a_waiting_request_tries_again() -> None:
    from deployreq.cli.status import describe

    obj = {
        "metadata": {"name": "web-1-1", "namespace": "shop"},
        "spec": {"deployment": "web", "images": [{"container": "app", "image": "web:1.1"}]},
        "status": {
            "phase": "Queued",
            "attempt": 1,
            "nextAttemptAt": "2026-11-30T16:00:10.000Z",
            "message": "m",
        },
    }
    lines = describe(obj).splitlines()
    assert lines[-2:] == ["Next attempt: 2026-11-30T16:00:10.000Z", "Message:      m"]
    obj["status"]["phase"] = "Failed"
    assert "Next attempt" not in describe(obj)


def test_the_queue_says_under_a_held_request_which_policy_holds_it_and_why() -> None:
    rows = [
        ("shop", "1", "web-2", "normal", "Queued", "web"),
        ("shop", "2", "web-3", "normal", "Queued", "api"),
    ]
    why = "Held by policy prod: outside the deploy windows of policy prod; starts at 2027-01-18T08:00:00Z."
    lines = queue_table(rows, {}, {("shop", "web-2"): why})
    assert lines[2] == " " * len("NAMESPACE   ") + why  # under the row, past the namespace column
    assert lines[3].split()[2] == "web-3"


def test_the_policy_table_shows_selection_budget_and_whether_requests_may_start() -> None:
    from deployreq.cli.policy import policy_rows, policy_table

    monday_noon = 1800273600.0  # 2027-01-18T12:00:00Z, a Monday
    prod = {
        "metadata": {"name": "prod"},
        "spec": {
            "namespaceSelector": {"matchLabels": {"tier": "prod"}},
            "maxConcurrent": 2,
            "windows": [{"days": ["Mon"], "start": "14:00", "end": "15:00", "timeZone": "UTC"}],
        },
    }
    bad = {
        "metadata": {"name": "bad"},
        "spec": {
            "namespaceSelector": {},
            "windows": [{"days": ["Mon"], "start": "09:00", "end": "10:00", "timeZone": "Mars/Olympus"}],
        },
    }
    namespaces = [
        {"metadata": {"name": n, "labels": labels}}
        for n, labels in (("shop", {"tier": "prod"}), ("api", {"tier": "prod"}), ("dev", {}))
    ]
    active = {
        "metadata": {"name": "r", "namespace": "shop", "uid": "u"},
        "spec": {"deployment": "web", "images": [{"container": "app", "image": "img:2"}]},
        "status": {"phase": "Deploying"},
    }
    rows = policy_rows([prod, bad], namespaces, [active], monday_noon)
    assert rows[0][:3] == ("bad", "-", "-") and 'unknown time zone "Mars/Olympus"' in rows[0][3]
    assert rows[1][:3] == ("prod", "api,shop", "1/2")
    assert rows[1][3].startswith(
        "held: outside the deploy windows of policy prod; starts at 2027-01-18T14:00:00Z"
    )
    assert policy_table(rows)[0].split() == ["NAME", "NAMESPACES", "ACTIVE", "NOW"]

"""``deployreq create --workload`` and ``deployreq status`` for requests of several workloads."""

from __future__ import annotations

import pytest

from deployreq.cli.create import parse_workload, workloads_of
from deployreq.cli.main import build_parser
from deployreq.cli.status import describe

APP = {"container": "app", "image": "r/app:2"}


def ordered(*argv: str) -> list[tuple[str, str]]:
    args = build_parser().parse_args(["create", "r", *argv])
    return list(args.ordered)


def test_each_image_belongs_to_the_workload_before_it() -> None:
    flags = ordered(
        "--workload",
        "api",
        "--image",
        "app=r/app:2",
        "--workload",
        "sts/worker",
        "--image",
        "app=r/app:2",
        "--image",
        "side=r/side:2",
        "--workload",
        "DaemonSet/agent",
        "--image",
        "app=r/app:2",
    )
    assert workloads_of(flags) == [
        {"kind": "Deployment", "name": "api", "images": [APP]},
        {
            "kind": "StatefulSet",
            "name": "worker",
            "images": [APP, {"container": "side", "image": "r/side:2"}],
        },
        {"kind": "DaemonSet", "name": "agent", "images": [APP]},
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("--image", "app=r/app:2", "--workload", "api"),
            "each --image follows the --workload it belongs to",
        ),
        (
            ("--workload", "api", "--workload", "ds/b", "--image", "app=x"),
            "--workload deployment/api needs an --image",
        ),
        (
            ("--workload", "job/m", "--image", "app=x"),
            "--workload takes [deployment|statefulset|daemonset/]NAME",
        ),
    ],
)
def test_what_is_wrong_with_the_flags_is_said(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("|", r"\|")):
        workloads_of(ordered(*argv))


def test_deployment_and_workload_exclude_each_other() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            ["create", "r", "--deployment", "web", "--workload", "api", "--image", "app=x"]
        )
    assert parse_workload("statefulsets/db") == ("StatefulSet", "db")


def test_status_shows_each_workload_and_what_the_run_did_to_it() -> None:
    obj = {
        "metadata": {"name": "r", "namespace": "ns"},
        "spec": {
            "workloads": [
                {"name": "api", "images": [APP]},
                {"kind": "StatefulSet", "name": "db", "images": [APP]},
                {"kind": "DaemonSet", "name": "agent", "images": [APP]},
            ]
        },
        "status": {
            "phase": "RolledBack",
            "workloads": [
                {
                    "kind": "Deployment",
                    "name": "api",
                    "patchedGeneration": 2,
                    "rollback": {
                        "targetRevision": 1,
                        "patchedGeneration": 3,
                        "availableAt": "2027-01-15T08:00:03Z",
                    },
                    "revision": 3,
                },
                {"kind": "StatefulSet", "name": "db", "patchedGeneration": 2, "leftAlone": "it was deleted"},
            ],
        },
    }
    lines = describe(obj).splitlines()
    assert "Workloads:" in lines
    shown = [line.split() for line in lines if line.startswith("  ") and "/" in line.split()[0]]
    assert [s[0] for s in shown[:3]] == ["deployment/api", "statefulset/db", "daemonset/agent"]
    text = describe(obj)
    assert "rolled back to revision 1 (now revision 3)" in text
    assert "left alone: it was deleted" in text and "not patched yet" in text

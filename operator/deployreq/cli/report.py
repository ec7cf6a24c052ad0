"""``deployreq report [-n NS | -A] [--since 24h|7d|RFC3339] [--deployment NAME] [-o table|json]``: the release
figures of the requests in the cluster (docs/report.md). It only reads the requests and prints; every figure comes
from :mod:`deployreq.decide.report`.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from deployreq.api import names, times
from deployreq.cli.common import ClientCommand, Obj, say
from deployreq.cluster import kube
from deployreq.decide import report
from deployreq.durations import EXAMPLES, format_seconds, parse_seconds

_DAYS = re.compile(r"(\d+(?:\.\d+)?)d(.*)")


@dataclass(frozen=True)
class Since:
    """``--since``: a duration back from now, or a time."""

    ago: float | None = None
    at: float | None = None

    def start(self, now: float) -> float:
        return self.at if self.at is not None else now - (self.ago or 0.0)


def since_arg(text: str) -> Since:
    """``7d``, ``24h``, ``1d12h``, ``90m`` (a duration, with days) or an RFC 3339 time."""
    value = text.strip()
    try:
        match = _DAYS.fullmatch(value)
        if match:
            rest = parse_seconds(match.group(2)) if match.group(2) else 0.0
            return Since(ago=float(match.group(1)) * report.DAY + rest)
        return Since(ago=parse_seconds(value))
    except ValueError:
        pass
    try:
        return Since(at=times.parse(value))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid --since {text!r}: use a duration ({EXAMPLES}, or days: 7d) or an RFC 3339 time"
        ) from None


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}s" if value < 60 else format_seconds(value)


def _per_day(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


HEADER = (
    "NAMESPACE", "WORKLOAD", "REQUESTS", "SUCCEEDED", "ROLLED-BACK", "FAILED", "SUCCESS", "CHANGE-FAIL",
    "DEPLOYS/DAY", "DETECT-MEAN", "RESTORE-MEAN", "RESTORE-P90", "DEPLOY-MEAN", "DOWNTIME", "DEGRADED", "OVERLAPS", "MANUAL",
)  # fmt: skip


def _row(namespace: str, workload: str, f: report.Figures) -> tuple[str, ...]:
    return (
        namespace,
        workload,
        str(f.requests),
        str(f.succeeded),
        str(f.rolled_back),
        str(f.failed),
        _rate(f.success_rate),
        _rate(f.change_failure_rate),
        _per_day(f.deployment_frequency_per_day),
        _seconds(f.time_to_detect_mean_seconds),
        _seconds(f.time_to_restore_mean_seconds),
        _seconds(f.time_to_restore_p90_seconds),
        _seconds(f.deploy_duration_mean_seconds),
        _seconds(f.downtime_seconds),
        _seconds(f.degraded_seconds),
        str(f.overlapping_deploys),
        str(f.manual_interventions),
    )


def _causes(f: report.Figures) -> str:
    return ", ".join(f"{cause} {n}" for cause, n in f.failed_by_cause.items())


def table(rep: report.Report) -> list[str]:
    """The report as aligned columns: each workload, each namespace (``*``) and the total, then what is behind."""
    rows: list[tuple[str, ...]] = []
    for ns, nf in rep.namespaces.items():
        rows.extend(_row(ns, f"{kind}/{name}", f) for (n, kind, name), f in rep.workloads.items() if n == ns)
        rows.append(_row(ns, "*", nf))
    rows.append(_row("TOTAL", "", rep.total))
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = [_window_line(rep.window)]
    lines += [
        "   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [HEADER, *rows]
    ]
    for ns, nf in rep.namespaces.items():
        if nf.failed_by_cause:
            lines.append(f"Failed in {ns} by cause: {_causes(nf)}")
    t = rep.total
    if t.unrestored:
        lines.append(
            f"Not restored yet: {t.unrestored} failed change(s) without a later success (left out of RESTORE)."
        )
    if t.in_progress:
        lines.append(f"In progress: {t.in_progress} request(s) (not counted until they end).")
    manual = ", ".join(f"{kind} {n}" for kind, n in t.manual_by_kind.items())
    lines.append(f"Manual interventions: {t.manual_interventions} request(s): {manual}.")
    return lines


def _window_line(w: report.Window) -> str:
    oldest = (
        f"the oldest request kept was created {times.rfc3339(w.oldest_request)}"
        if w.oldest_request is not None
        else "no request is kept"
    )
    return (
        f"Requests that ended from {times.rfc3339(w.start)} to {times.rfc3339(w.end)} ({w.days:.2f} days); "
        f"{oldest} (the operator deletes finished requests after --finished-ttl, 30 days by default)."
    )


async def cmd_report(
    client: kube.Kube,
    namespace: str | None,
    since: Since | None,
    deployment: str | None,
    output: str,
    emit: Callable[[str], None] = say,
    now: float | None = None,
) -> int:
    path = (
        f"/apis/{names.GROUP}/{names.VERSION}/{names.PLURAL}"
        if namespace is None
        else kube.request_path(namespace)
    )
    listing: Obj = await client.get(path)
    runs = [report.run_of(obj) for obj in listing.get("items") or []]
    if deployment is not None:
        runs = [r for r in runs if r.workload == deployment]
    now = time.time() if now is None else now
    rep = report.compute(runs, now, since.start(now) if since is not None else None)
    if output == "json":
        emit(json.dumps(report.as_json(rep), indent=2))
    else:
        for line in table(rep):
            emit(line)
    return 0


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    p.add_argument(
        "--since",
        type=since_arg,
        metavar="WHEN",
        help="only requests that ended since then: a duration back from now (24h, 7d, 1d12h) or an RFC 3339 "
        "time (default: as far back as the requests kept reach)",
    )
    p.add_argument("--deployment", metavar="NAME", help="only the requests for this Deployment")
    p.add_argument("-o", "--output", choices=("table", "json"), default="table", help="(default table)")


async def _run(client: kube.Kube, namespace: str, args: argparse.Namespace) -> int:
    return await cmd_report(
        client, None if args.all_namespaces else namespace, args.since, args.deployment, args.output
    )


COMMAND = ClientCommand(
    "report",
    "release figures from the requests in the cluster: requests, success and change failure rate, deployment "
    "frequency, time to restore, deploy duration, downtime, overlapping deploys, manual interventions",
    _configure,
    _run,
)

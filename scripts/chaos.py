"""`make chaos`: many requests over many namespaces while the operator is killed, the API server misbehaves, two
operators compete and a lock holder stalls; then the invariants are checked from kubesim's audit trail and the
final state. Seeded and bounded: SEED=N replays a run, SIZE=tiny|small|default sets its size.

The last line reads ``chaos: runs=R kills=K faults=F requests=Q violations=V``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.system.harness import (  # noqa: E402
    KubesimProcess,
    Namespace,
    OperatorProcess,
    api_client,
    run_kubectl,
)

TERMINAL = {"Succeeded", "Failed", "RolledBack", "Cancelled", "Superseded"}
ACTIVE = {"Checking", "Deploying", "Verifying", "RollingBack"}
OK_IMAGES = ["registry.example/app:2", "registry.example/app:3", "registry.example/app:4"]
BAD_IMAGE = "registry.example/app:9-crashloop"


@dataclass(frozen=True)
class Size:
    runs: int
    namespaces: int
    requests_per_namespace: int
    kills: int
    seconds: float


SIZES = {
    "tiny": Size(1, 2, 3, 1, 45),
    "small": Size(2, 4, 4, 3, 70),
    "default": Size(4, 8, 6, 6, 120),
}
FAULTS = {
    "seed": 0,
    "rules": [
        {"code": 500, "rate": 0.03, "verb": "write", "resource": "*"},
        {"code": 503, "rate": 0.02, "verb": "get", "resource": "*"},
        {"code": 429, "rate": 0.03, "verb": "*", "resource": "leases", "retry_after": 1},
        {"code": 409, "rate": 0.03, "verb": "patch", "resource": "deploymentrequests/status"},
    ],
    "latency": 0.002,
    "latencyJitter": 0.01,
    "cutWatchAfterEvents": 60,
}


def status_phase(record: dict[str, Any]) -> str | None:
    return ((record.get("requestObject") or {}).get("status") or {}).get("phase")


def check(
    audit: list[dict[str, Any]],
    final: dict[str, dict[str, Any]],
    deployments: dict[str, dict[str, str]],
    leases: dict[str, str],
    initial: dict[str, str],
) -> list[str]:
    """Every invariant of the run, as violation messages."""
    violations: list[str] = []
    by_ns: dict[str, list[dict[str, Any]]] = {}
    for record in audit:
        if record.get("namespace"):
            by_ns.setdefault(record["namespace"], []).append(record)
    for ns, records in by_ns.items():
        records.sort(key=lambda r: r["time"])
        # 1. one request at a time: windows from the first active status write to the terminal one.
        windows: dict[str, list[float]] = {}
        for r in records:
            if (
                r.get("resource") == "deploymentrequests"
                and r.get("subresource") == "status"
                and r.get("code") == 200
            ):
                phase = status_phase(r)
                if phase in ACTIVE and r["name"] not in windows:
                    windows[r["name"]] = [r["time"], float("inf")]
                elif (phase in TERMINAL and r["name"] in windows) or (
                    phase == "Queued" and r["name"] in windows
                ):
                    windows[r["name"]][1] = r["time"]
        spans = sorted(windows.items(), key=lambda kv: kv[1][0])
        for (a, (_, a_end)), (b, (b_start, _)) in itertools.pairwise(spans):
            if a_end > b_start:
                violations.append(f"{ns}: {a} and {b} were active at the same time")
        # 2. every Deployment write came from the holder of the namespace lock at that moment.
        holder = ""
        for r in records:
            if (
                r.get("resource") == "leases"
                and (r.get("name") or ((r.get("requestObject") or {}).get("metadata") or {}).get("name"))
                == "deployreq-lock"
                and r.get("code") in (200, 201)
                and r.get("verb") in ("create", "update", "patch")
            ):
                holder = ((r.get("requestObject") or {}).get("spec") or {}).get("holderIdentity") or ""
            if (
                r.get("resource") == "deployments"
                and r.get("verb") == "patch"
                and r.get("code") == 200
                and r.get("userAgent", "").startswith("deployreq/")
            ):
                writer = r["userAgent"].split("/", 1)[1]
                if not holder.endswith(f"@{writer}"):
                    violations.append(f"{ns}: Deployment written by {writer} while the lock was {holder!r}")
        # 6. no run patched twice.
        runs: dict[str, int] = {}
        for r in records:
            body = r.get("requestObject") or {}
            if r.get("resource") == "deployments" and r.get("code") == 200 and isinstance(body, dict):
                run = ((body.get("metadata") or {}).get("annotations") or {}).get("deployreq.dev/run")
                if run:
                    runs[run] = runs.get(run, 0) + 1
        violations.extend(f"{ns}: run {run} patched {n} times" for run, n in runs.items() if n > 1)
    # 3. every request ended; 4. the Deployment shows the last success (or what was there before);
    # 5. no lock left held.
    for ns, requests in final.items():
        stuck = [
            name for name, obj in requests.items() if (obj.get("status") or {}).get("phase") not in TERMINAL
        ]
        violations.extend(f"{ns}: request {name} never ended" for name in stuck)
        succeeded = sorted(
            (
                (obj["status"].get("completedAt") or "", obj)
                for obj in requests.values()
                if obj.get("status", {}).get("phase") == "Succeeded"
            ),
            key=lambda x: x[0],
        )
        expected = succeeded[-1][1]["spec"]["images"][0]["image"] if succeeded else initial[ns]
        if deployments[ns].get("app") != expected:
            violations.append(f"{ns}: Deployment runs {deployments[ns].get('app')}, expected {expected}")
        if leases.get(ns):
            violations.append(f"{ns}: lock still held by {leases[ns]}")
    return violations


def one_run(run: int, size: Size, rng: random.Random, workdir: Path) -> tuple[int, int, int, list[str]]:
    sim = KubesimProcess(
        workdir,
        "--pod-ready-seconds",
        "0.1",
        "--fail-image",
        "*-crashloop",
        "--crashloop-restart-seconds",
        "0.3",
        "--audit-bodies",
        "--seed",
        str(run),
    )
    sim.start()
    api = None
    operators: list[OperatorProcess] = []
    kills = 0
    try:
        result = run_kubectl(sim.kubeconfig, "apply", "-k", str(ROOT / "crds"))
        if result.returncode != 0:
            raise RuntimeError(result.stderr)
        api = api_client(sim.kubeconfig)
        spaces = [Namespace(api) for _ in range(size.namespaces)]
        for ns in spaces:
            ns.deployment(images={"app": "registry.example/app:1"}, replicas=2)
        sim.admin("PUT", "faults", {**FAULTS, "seed": run})
        flags = ("--lease-duration", "3", "--renew-interval", "1", "--api-retries", "6")
        operators = [
            OperatorProcess(sim.kubeconfig, workdir, f"op-{run}-a", flags),
            OperatorProcess(sim.kubeconfig, workdir, f"op-{run}-b", flags),
        ]
        for op in operators:
            op.start()
        plan = []
        for ns in spaces:
            for i in range(size.requests_per_namespace):
                image = BAD_IMAGE if rng.random() < 0.3 else rng.choice(OK_IMAGES)
                plan.append(
                    (
                        rng.random() * size.seconds / 3,
                        ns,
                        f"r{i}",
                        image,
                        rng.choice(["low", "normal", "high"]),
                    )
                )
        plan.sort(key=lambda p: p[0])
        kill_times = sorted(rng.random() * size.seconds / 2 for _ in range(size.kills))
        stall_at = rng.random() * size.seconds / 2
        started = time.monotonic()
        pending = list(plan)
        stalled: OperatorProcess | None = None
        while pending or kill_times or stall_at is not None:
            now = time.monotonic() - started
            while pending and pending[0][0] <= now:
                _, ns, name, image, priority = pending.pop(0)
                for attempt in range(20):  # the API server injects faults on our writes too
                    try:
                        ns.request(
                            name, {"app": image}, priority=priority, verification={"durationSeconds": 1}
                        )
                        break
                    except Exception as exc:
                        if "AlreadyExists" in str(exc) or "already exists" in str(exc):
                            break
                        time.sleep(0.05 * (attempt + 1))
            if kill_times and kill_times[0] <= now:
                kill_times.pop(0)
                victim = rng.choice(operators)
                victim.kill()
                kills += 1
                victim.start()
            if stall_at is not None and stall_at <= now:
                stall_at = None
                stalled = rng.choice(operators)
                if stalled.proc is not None and stalled.proc.poll() is None:
                    stalled.proc.send_signal(signal.SIGSTOP)  # a holder that stops renewing past its lease
                    time.sleep(5)
                    stalled.proc.send_signal(signal.SIGCONT)
            time.sleep(0.05)
        sim.admin("PUT", "faults", {"rules": []})
        deadline = time.monotonic() + 90
        final: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            final = {
                ns.name: {
                    o["metadata"]["name"]: o
                    for o in ns.custom.list_namespaced_custom_object(
                        "deployreq.dev", "v1alpha1", ns.name, "deploymentrequests"
                    )["items"]
                }
                for ns in spaces
            }
            if all(
                (o.get("status") or {}).get("phase") in TERMINAL
                for reqs in final.values()
                for o in reqs.values()
            ):
                break
            time.sleep(0.5)
        time.sleep(2)  # let the last holder release its locks
        deployments = {ns.name: ns.images() for ns in spaces}
        leases = {}
        from kubernetes.client import CoordinationV1Api

        for ns in spaces:
            try:
                lease = CoordinationV1Api(api).read_namespaced_lease("deployreq-lock", ns.name)
                leases[ns.name] = lease.spec.holder_identity or ""
            except Exception:
                leases[ns.name] = ""
        faults = int(sim.admin("GET", "faults").get("injected", 0))
        violations = check(
            sim.audit(), final, deployments, leases, {ns.name: "registry.example/app:1" for ns in spaces}
        )
        requests = sum(len(r) for r in final.values())
        return kills, faults, requests, violations
    finally:
        for op in operators:
            op.stop()
        if api is not None:
            api.close()
        sim.stop()


def main() -> int:
    size_name = os.environ.get("SIZE", "default")
    size = SIZES.get(size_name)
    if size is None:
        print(f"chaos: SIZE must be one of {', '.join(SIZES)}", file=sys.stderr)
        return 2
    seed = int(os.environ.get("SEED", "1"))
    rng = random.Random(seed)
    totals = {"kills": 0, "faults": 0, "requests": 0}
    violations: list[str] = []
    for run in range(size.runs):
        workdir = Path(tempfile.mkdtemp(prefix=f"deployreq-chaos-{run}-"))
        kills, faults, requests, found = one_run(seed * 1000 + run, size, rng, workdir)
        totals["kills"] += kills
        totals["faults"] += faults
        totals["requests"] += requests
        for v in found:
            print(f"violation (run {run}, logs in {workdir}): {v}")
        violations.extend(found)
        print(
            f"run {run}: kills={kills} faults={faults} requests={requests} violations={len(found)}",
            flush=True,
        )
    out = os.environ.get("CHAOS_OUT")
    if out:
        Path(out).write_text(json.dumps({**totals, "runs": size.runs, "violations": violations}, indent=2))
    print(
        f"chaos: runs={size.runs} kills={totals['kills']} faults={totals['faults']} "
        f"requests={totals['requests']} violations={len(violations)}"
    )
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())

"""`make chaos`: many requests over many namespaces while the operator is killed, the API server misbehaves, two
operators compete and a lock holder stalls; then the invariants are checked from kubesim's audit trail and the
final state. Seeded and bounded: SEED=N replays a run, SIZE=tiny|small|default sets its size.

``DEPLOYREQ_CLUSTER=controlplane`` runs the same on the real control plane (scripts/cluster.py, one per run in the
run's directory): kubesim's injected faults give way to the API server SIGKILLed and restarted and etcd paused, and
the invariants are checked from the kube-apiserver's audit log (scripts/real_cluster.py), in etcd's commit order.

The last line reads ``chaos: runs=R kills=K faults=F requests=Q violations=V``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from scripts import chaos_budget  # noqa: E402
from scripts.chaos_proxy import LossyProxy, proxied_kubeconfig  # noqa: E402
from scripts.real_cluster import ControlPlane, selected, wait_established  # noqa: E402
from tests.system.harness import (  # noqa: E402
    KubesimProcess,
    Namespace,
    OperatorProcess,
    api_client,
    run_kubectl,
)

TERMINAL = {"Succeeded", "Failed", "RolledBack", "Cancelled", "Superseded"}
WRITES = {"create", "update", "patch", "delete", "deletecollection"}
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
REAL_FAULTS = {"tiny": (1, 1), "small": (2, 1), "default": (3, 2)}
"""On the real control plane, per run: (API server SIGKILLed and restarted, etcd paused)."""
ETCD_PAUSE_SECONDS = 2.5
"""How long etcd is stopped (SIGSTOP ... SIGCONT): most of a 3 s lease, shorter than the API server's etcd timeouts."""
STALL_SECONDS = 8.0
"""How long the busiest lock holder is stopped: more than twice its 3 s lease, so the other operator, which reads a
lock held by someone else again within one lease duration, finds it expired and takes it over."""
STALL_LIMIT_SECONDS = 25.0
"""... and at most this long, waiting for the other operator's takeover to show in the audit trail."""
LOST_RESPONSE_RATE = 0.03
"""Share of the operators' writes to Deployments, Leases and requests whose response the proxy loses."""
LOST_RESPONSE_PATHS = ("/deployments/", "/leases", "/deploymentrequests")
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


LOCK = "deployreq-lock"
RUN_ANNOTATION = "deployreq.dev/run"
LOST_MARK = "chaos/response-lost"
TAKEOVER_TOLERANCE = 0.05
"""Seconds of slack when a takeover is compared with the lease duration (both times are kubesim's own clock)."""


@dataclass
class Stats:
    """What the checker examined: a run that examined nothing proves nothing."""

    deployment_writes: int = 0
    image_patches: int = 0
    undos: int = 0
    lost_responses: int = 0
    lock_writes: int = 0
    takeovers: int = 0
    lock_holders: set[str] = field(default_factory=set)
    """Operators that held a namespace lock at least once."""
    overlaps: int = 0
    """Lock acquisitions by one operator while the other held a lock elsewhere: both really at work at once."""
    stalls: int = 0
    """Lock holders stopped (SIGSTOP) past their lease."""
    apiserver_restarts: int = 0
    """The real control plane: the API server SIGKILLed and started again."""
    etcd_pauses: int = 0
    """The real control plane: etcd stopped (SIGSTOP) and continued."""
    budget_most: int = 0
    """The most requests active at once under the DeployPolicy budget (scripts/chaos_budget.py)."""

    def add(self, other: Stats) -> None:
        for name in (
            "deployment_writes",
            "image_patches",
            "undos",
            "lost_responses",
            "lock_writes",
            "stalls",
            "apiserver_restarts",
            "etcd_pauses",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.takeovers += other.takeovers
        self.budget_most = max(self.budget_most, other.budget_most)
        self.overlaps += other.overlaps
        self.lock_holders |= other.lock_holders

    def line(self) -> str:
        return (
            f"deployment_writes={self.deployment_writes} patches={self.image_patches} undos={self.undos} "
            f"lost_responses={self.lost_responses} lock_writes={self.lock_writes} takeovers={self.takeovers} "
            f"lock_holders={len(self.lock_holders)} two_operator_overlaps={self.overlaps} stalls={self.stalls} "
            f"budget_most_active={self.budget_most}"
            + (
                f" apiserver_restarts={self.apiserver_restarts} etcd_pauses={self.etcd_pauses}"
                if self.apiserver_restarts or self.etcd_pauses
                else ""
            )
        )


def effective(record: dict[str, Any]) -> float:
    """When a write took effect: kubesim answers right after committing, so received + handling time (injected
    latency delays the commit, not the arrival)."""
    return float(record["time"]) + float(record.get("duration_ms") or 0) / 1000


def commit_order(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Writes in the order they took effect. The real API server's audit log gives each accepted write to a
    Deployment or Lease etcd's revision at its commit (scripts/real_cluster.py): one exact global order. kubesim's
    trail (and a record without a revision) is ordered by :func:`effective`."""
    if records and all("revision" in r for r in records):
        return sorted(records, key=lambda r: int(r["revision"]))
    return sorted(records, key=effective)


def operator_of(record: dict[str, Any]) -> str:
    """The writing operator's identity from its User-Agent (``deployreq/<identity>``), or "" for anyone else."""
    agent = str(record.get("userAgent", "")).replace(LOST_MARK, "").strip().split(" ", 1)[0]
    return agent.split("/", 1)[1] if agent.startswith("deployreq/") else ""


def lease_name(record: dict[str, Any]) -> str:
    body = record.get("requestObject")
    named = ((body.get("metadata") or {}).get("name") if isinstance(body, dict) else None) or ""
    return str(record.get("name") or named)


def accepted(record: dict[str, Any]) -> bool:
    return int(record.get("code") or 0) < 300 and record.get("verb") in WRITES


def deployment_write_kind(record: dict[str, Any]) -> tuple[str, str]:
    """("patch", run) for an image patch (it names its run), ("undo", "") for `rollout undo`'s JSON patch of the
    template, ("other", "") for anything else."""
    body = record.get("requestObject")
    if isinstance(body, dict):
        run = ((body.get("metadata") or {}).get("annotations") or {}).get(RUN_ANNOTATION)
        if run:
            return "patch", str(run)
    if isinstance(body, list) and any(
        op.get("path") == "/spec/template" for op in body if isinstance(op, dict)
    ):
        return "undo", ""
    return "other", ""


def check_namespace(ns: str, records: list[dict[str, Any]], stats: Stats) -> list[str]:
    """The audit-trail invariants of one namespace: every accepted write to the Deployment (any verb, any patch
    type, the undo included) is attributed to the request that held the lock when the write took effect; the lock
    changes hands between operators only after it expired; no run writes its patch or its undo twice (a retry of a
    write whose response was lost excepted); one request's writes are never interleaved with another's."""
    violations: list[str] = []
    events = commit_order(
        [
            r
            for r in records
            if accepted(r)
            and (
                r.get("resource") == "deployments"
                or (r.get("resource") == "leases" and lease_name(r) == LOCK)
            )
        ]
    )
    holder, holder_op, renewed, duration = "", "", 0.0, 0.0
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    last_run: dict[str, str] = {}
    sequence: list[str] = []
    previous_write: dict[str, Any] | None = None
    for r in events:
        at = effective(r)
        writer = operator_of(r)
        if r["resource"] == "leases":
            stats.lock_writes += 1
            body = r.get("requestObject") if isinstance(r.get("requestObject"), dict) else {}
            spec = (body or {}).get("spec") or {}
            new = "" if r.get("verb") == "delete" else str(spec.get("holderIdentity") or "")
            if holder and new != holder and writer != holder_op:
                stats.takeovers += 1
                if at - renewed < duration - TAKEOVER_TOLERANCE:
                    violations.append(
                        f"{ns}: {writer} took the lock from {holder} {at - renewed:.2f}s after its last renewal "
                        f"(lease {duration:g}s)"
                    )
            if new:
                stats.lock_holders.add(new.split("@", 1)[1] if "@" in new else new)
            holder, holder_op = new, (new.split("@", 1)[1] if "@" in new else "")
            renewed, duration = at, float(spec.get("leaseDurationSeconds") or duration)
            continue
        if not writer:
            continue  # the harness's own set-up (creating the Deployment before any request)
        stats.deployment_writes += 1
        if LOST_MARK in str(r.get("userAgent", "")):
            stats.lost_responses += 1
        kind, run = deployment_write_kind(r)
        where = f"{ns}: {r.get('verb')} of the Deployment by {writer} at {at:.3f}"
        if not holder:
            violations.append(f"{where}: no request held the lock")
            continue
        request = holder.split("@", 1)[0]
        if holder_op != writer:
            violations.append(f"{where}: the lock was held by {holder}")
            continue
        if kind == "other":
            violations.append(f"{where}: neither an image patch nor an undo")
            continue
        if kind == "patch":
            stats.image_patches += 1
            if run.split("/", 1)[0] != request:
                violations.append(f"{where}: patch of run {run} while {holder} held the lock")
            last_run[request] = run
        else:
            stats.undos += 1
            run = last_run.get(request, f"{request}/(no patch seen)")
        key = (kind, run)
        earlier = runs.setdefault(key, [])
        retry = (
            bool(earlier)
            and previous_write is earlier[-1]
            and LOST_MARK in str(earlier[-1].get("userAgent", ""))
        )
        if earlier and not retry:
            violations.append(f"{where}: run {run} wrote its {kind} {len(earlier) + 1} times")
        earlier.append(r)
        previous_write = r
        if request in sequence and sequence[-1] != request:
            violations.append(f"{where}: {request} wrote again after {sequence[-1]} had written")
        if not sequence or sequence[-1] != request:
            sequence.append(request)
    return violations


def count_overlaps(audit: list[dict[str, Any]]) -> int:
    """Lock acquisitions by one operator while another operator held a lock in some namespace."""
    held: dict[str, str] = {}  # namespace -> operator holding its lock
    overlaps = 0
    for r in commit_order(
        [r for r in audit if accepted(r) and r.get("resource") == "leases" and lease_name(r) == LOCK]
    ):
        body = r.get("requestObject") if isinstance(r.get("requestObject"), dict) else {}
        new = (
            ""
            if r.get("verb") == "delete"
            else str(((body or {}).get("spec") or {}).get("holderIdentity") or "")
        )
        op = new.split("@", 1)[1] if "@" in new else ""
        ns = str(r.get("namespace"))
        if op and held.get(ns) != op and any(o and o != op for n, o in held.items() if n != ns):
            overlaps += 1
        held[ns] = op
    return overlaps


def check(
    audit: list[dict[str, Any]],
    final: dict[str, dict[str, Any]],
    deployments: dict[str, dict[str, str]],
    leases: dict[str, str],
    initial: dict[str, str],
    operators: int = 2,
) -> tuple[list[str], Stats]:
    """Every invariant of the run, as violation messages, and what was examined. The audit-trail invariants come
    from kubesim's record of accepted writes (``check_namespace``); the others compare the final state on the
    server with the requests' outcomes."""
    violations: list[str] = []
    stats = Stats()
    by_ns: dict[str, list[dict[str, Any]]] = {}
    for record in audit:
        if record.get("namespace"):
            by_ns.setdefault(record["namespace"], []).append(record)
    for ns, records in sorted(by_ns.items()):
        violations.extend(check_namespace(ns, records, stats))
    stats.overlaps = count_overlaps(audit)
    if len(stats.lock_holders) < operators:
        violations.append(
            f"only {sorted(stats.lock_holders)} ever held a lock: the run proves nothing about {operators} operators"
        )
    # Every request ended; the Deployment shows the last success (or what was there before); no lock left held.
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
    return violations, stats


def submit(ns: Namespace, name: str, image: str, priority: str) -> None:
    for attempt in range(20):  # the API server injects faults on our writes too
        try:
            ns.request(name, {"app": image}, priority=priority, verification={"durationSeconds": 1})
            return
        except Exception as exc:
            if "AlreadyExists" in str(exc) or "already exists" in str(exc):
                return
            time.sleep(0.05 * (attempt + 1))


def taken_over(records: list[dict[str, Any]], namespaces: set[str], stalled: str) -> bool:
    """Whether another operator wrote itself into the lock of one of ``namespaces`` (accepted Lease writes)."""
    for r in records:
        if r.get("resource") == "leases" and accepted(r) and r.get("namespace") in namespaces:
            body = r.get("requestObject") if isinstance(r.get("requestObject"), dict) else {}
            holder = str(((body or {}).get("spec") or {}).get("holderIdentity") or "")
            if "@" in holder and holder.split("@", 1)[1] != stalled:
                return True
    return False


def lock_holders(api: Any, spaces: list[Namespace]) -> dict[str, str]:
    """namespace -> the operator holding its lock now ("" when free)."""
    from kubernetes.client import CoordinationV1Api

    held = {}
    for ns in spaces:
        try:
            lease = CoordinationV1Api(api).read_namespaced_lease(LOCK, ns.name)
            holder = lease.spec.holder_identity or ""
        except Exception:
            holder = ""
        held[ns.name] = holder.split("@", 1)[1] if "@" in holder else ""
    return held


def size_name(size: Size) -> str:
    return next((name for name, s in SIZES.items() if s == size), "default")


def one_run(
    run: int, size: Size, rng: random.Random, workdir: Path
) -> tuple[int, int, int, list[str], Stats]:
    real = selected() == "controlplane"
    sim: KubesimProcess | None = None
    cluster: ControlPlane | None = None
    if real:
        # kwok's stages at 1/20 of real time, as kubesim below: Ready 0.1 s after scheduling, crash-loop back-offs
        # of 0.5 s, 1 s, 2 s ...
        cluster = ControlPlane(workdir / "cluster", pod_ready_seconds=2.0, time_scale=0.05)
    else:
        # The kubelet at 1/20 of real time: Ready 0.1 s after start, a crash-looping container exits after 10 ms
        # and backs off 0.5 s, 1 s, 2 s ...
        sim = KubesimProcess(
            workdir,
            "--time-scale",
            "0.05",
            "--pod-ready-seconds",
            "2",
            "--fail-image",
            "*-crashloop",
            "--audit-bodies",
            "--seed",
            str(run),
        )
    api = None
    operators: list[OperatorProcess] = []
    kills = 0
    real_stats = {"apiserver_restarts": 0, "etcd_pauses": 0}
    proxy: LossyProxy | None = None
    try:
        if cluster is not None:
            cluster.start()
            kubeconfig, audit = cluster.kubeconfig, cluster.audit
            proxy = LossyProxy(
                cluster.server(),
                LOST_RESPONSE_RATE,
                seed=run,
                resources=LOST_RESPONSE_PATHS,
                upstream_ssl=cluster.client_ssl(),
            )
        else:
            assert sim is not None
            sim.start()
            kubeconfig, audit = sim.kubeconfig, sim.audit
            proxy = LossyProxy(
                sim.url,
                LOST_RESPONSE_RATE,
                seed=run,
                resources=LOST_RESPONSE_PATHS,
                upstream_ssl=sim.ssl_context(),
            )
        result = run_kubectl(kubeconfig, "apply", "-k", str(ROOT / "crds"))
        if result.returncode != 0:
            raise RuntimeError(result.stderr)
        wait_established(kubeconfig)
        api = api_client(kubeconfig)
        spaces = [Namespace(api) for _ in range(size.namespaces)]
        for ns in spaces:
            ns.deployment(images={"app": "registry.example/app:1"}, replicas=2, wait=False)
        for ns in spaces:
            ns.wait_deployment_available(timeout=120)
        budget = chaos_budget.budget_of(len(spaces))  # a DeployPolicy's maxConcurrent over every namespace
        chaos_budget.install(api, [ns.name for ns in spaces], budget)
        if sim is not None:
            sim.admin("PUT", "faults", {**FAULTS, "seed": run})
        # The operators talk to kubesim through a proxy that loses the responses of some committed writes.
        proxied = workdir / "operators-kubeconfig"
        proxied.write_text(
            yaml.safe_dump(proxied_kubeconfig(yaml.safe_load(kubeconfig.read_text()), proxy.start()))
        )
        flags = ("--lease-duration", "3", "--renew-interval", "1", "--api-retries", "6")
        operators = [
            OperatorProcess(proxied, workdir, f"op-{run}-a", flags),
            OperatorProcess(proxied, workdir, f"op-{run}-b", flags),
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
        # The real control plane's own faults: the API server SIGKILLed and started again with the same flags,
        # etcd paused; each at a random moment of the plan's first half, one at a time.
        restarts, pauses = REAL_FAULTS.get(size_name(size), (1, 1)) if real else (0, 0)
        server_faults = sorted(
            [(rng.random() * size.seconds / 2, "restart") for _ in range(restarts)]
            + [(rng.random() * size.seconds / 2, "pause") for _ in range(pauses)]
        )
        started = time.monotonic()
        pending = list(plan)
        stalled: OperatorProcess | None = None
        stall_work, stalls = False, 0
        while pending or kill_times or stall_at is not None or server_faults:
            now = time.monotonic() - started
            if time.monotonic() - started > size.seconds + 120:
                raise RuntimeError("the plan did not end in time")
            if server_faults and server_faults[0][0] <= now:
                _, fault = server_faults.pop(0)
                assert cluster is not None
                if fault == "restart":
                    print(f"  run {run}: {cluster.restart('kube-apiserver')}", flush=True)
                    real_stats["apiserver_restarts"] += 1
                else:
                    cluster.pause("etcd", ETCD_PAUSE_SECONDS)
                    print(f"  run {run}: etcd paused {ETCD_PAUSE_SECONDS} s", flush=True)
                    real_stats["etcd_pauses"] += 1
            while pending and pending[0][0] <= now:
                _, ns, name, image, priority = pending.pop(0)
                submit(ns, name, image, priority)
            if kill_times and kill_times[0] <= now:
                kill_times.pop(0)
                victim = rng.choice(operators)
                victim.kill()
                kills += 1
                victim.start()
            if stall_at is not None and stall_at <= now:
                # A holder that stops renewing past its lease: the operator holding most locks (once one holds any;
                # if none does, an urgent request in every namespace gives them some), so that the other one
                # must take over from it.
                holders = lock_holders(api, spaces)
                held = [op for op in holders.values() if op]
                if not held and not stall_work:
                    stall_work = True
                    for ns in spaces:
                        submit(ns, "before-stall", rng.choice(OK_IMAGES), "urgent")
                elif held or now > size.seconds:
                    stall_at = None
                    busiest = max(set(held), key=held.count) if held else ""
                    stalled = next((op for op in operators if op.identity == busiest), None)
                    if stalled is not None and stalled.proc is not None and stalled.proc.poll() is None:
                        stalled.proc.send_signal(signal.SIGSTOP)
                        stalls += 1
                        mark = len(audit())
                        mine = {name for name, op in holders.items() if op == busiest}
                        for ns in spaces:
                            if ns.name in mine:
                                submit(ns, "during-stall", rng.choice(OK_IMAGES), "urgent")
                        # Stopped at least STALL_SECONDS, and until the other operator has taken one of its
                        # locks over (seen in the audit trail), at most STALL_LIMIT_SECONDS.
                        stopped = time.monotonic()
                        while time.monotonic() - stopped < STALL_LIMIT_SECONDS and not (
                            time.monotonic() - stopped >= STALL_SECONDS
                            and taken_over(audit(mark), mine, busiest)
                        ):
                            time.sleep(0.2)
                        stalled.proc.send_signal(signal.SIGCONT)
            time.sleep(0.05)
        if sim is not None:
            sim.admin("PUT", "faults", {"rules": []})
        proxy.active = False
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
        leases = lock_holders(api, spaces)
        injected = int(sim.admin("GET", "faults").get("injected", 0)) if sim is not None else 0
        faults = injected + proxy.lost + real_stats["apiserver_restarts"] + real_stats["etcd_pauses"]
        trail = audit()
        violations, stats = check(
            trail, final, deployments, leases, {ns.name: "registry.example/app:1" for ns in spaces}
        )
        over_budget, stats.budget_most = chaos_budget.check(trail, {ns.name for ns in spaces}, budget)
        violations.extend(over_budget)
        stats.apiserver_restarts = real_stats["apiserver_restarts"]
        stats.etcd_pauses = real_stats["etcd_pauses"]
        stats.stalls = stalls
        requests = sum(len(r) for r in final.values())
        return kills, faults, requests, violations, stats
    finally:
        # Every step runs even when one before it fails: a control plane left running would outlive the run.
        cleanup: list[Any] = [op.stop for op in operators]
        cleanup += [proxy.stop] if proxy is not None else []
        cleanup += [api.close] if api is not None else []
        cleanup += [sim.stop] if sim is not None else []
        cleanup += [cluster.stop] if cluster is not None else []
        for step in cleanup:
            try:
                step()
            except Exception as exc:
                print(f"cleanup: {exc!r}", file=sys.stderr)


def main() -> int:
    size_name = os.environ.get("SIZE", "default")
    size = SIZES.get(size_name)
    if size is None:
        print(f"chaos: SIZE must be one of {', '.join(SIZES)}", file=sys.stderr)
        return 2
    seed = int(os.environ.get("SEED", "1"))
    rng = random.Random(seed)
    totals = {"kills": 0, "faults": 0, "requests": 0}
    examined = Stats()
    violations: list[str] = []
    for run in range(size.runs):
        workdir = Path(tempfile.mkdtemp(prefix=f"deployreq-chaos-{run}-"))
        kills, faults, requests, found, stats = one_run(seed * 1000 + run, size, rng, workdir)
        examined.add(stats)
        totals["kills"] += kills
        totals["faults"] += faults
        totals["requests"] += requests
        for v in found:
            print(f"violation (run {run}, logs in {workdir}): {v}")
        violations.extend(found)
        print(
            f"run {run}: kills={kills} faults={faults} requests={requests} violations={len(found)} "
            f"examined: {stats.line()}",
            flush=True,
        )
    out = os.environ.get("CHAOS_OUT")
    if out:
        summary = {
            "command": os.environ.get(
                "CHAOS_COMMAND",
                ("DEPLOYREQ_CLUSTER=controlplane " if selected() == "controlplane" else "")
                + f"make chaos SIZE={size_name} SEED={seed}",
            ),
            "cluster": selected(),
            **totals,
            "runs": size.runs,
            "examined": {**vars(examined), "lock_holders": len(examined.lock_holders)},
            "violations": violations,
        }
        Path(out).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"examined: {examined.line()}")
    print(
        f"chaos: runs={size.runs} kills={totals['kills']} faults={totals['faults']} "
        f"requests={totals['requests']} violations={len(violations)}"
    )
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())

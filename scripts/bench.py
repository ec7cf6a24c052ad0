"""`make bench`: the operator against the shell pipeline it replaces, on the same kubesim, in the same run.

Every time comes from kubesim's audit trail (when the server received a request) or from watches in this process;
both use this machine's clock. Sizes: tiny (smoke test), small (about two minutes), default.
Writes the table to stdout and the figures as JSON to $BENCH_OUT (default bench-results.json).
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubernetes import client, watch  # noqa: E402
from tests.system.harness import KubesimProcess, Namespace, OperatorProcess, api_client, run_kubectl  # noqa: E402

TERMINAL = {"Succeeded", "Failed", "RolledBack", "Cancelled", "Superseded"}
WRITES = {"create", "update", "patch", "delete", "deletecollection"}


@dataclass(frozen=True)
class Size:
    overhead_runs: int
    handoff_runs: int
    recovery_runs: int
    throughput_namespaces: int
    finished_requests: int
    baseline_poll: float
    baseline_timeout: int


SIZES = {
    "tiny": Size(2, 1, 1, 3, 50, 1.0, 8),
    "small": Size(10, 5, 2, 40, 1000, 2.0, 15),
    "default": Size(30, 15, 3, 200, 10000, 30.0, 120),
}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class Bench:
    def __init__(self, size: Size, workdir: Path) -> None:
        self.size = size
        self.workdir = workdir
        self.sim = KubesimProcess(
            workdir,
            "--pod-ready-seconds",
            "0",
            "--fail-image",
            "*-crashloop",
            "--crashloop-restart-seconds",
            "0.4",
            "--audit-bodies",
        )
        self.sim.start()
        result = run_kubectl(self.sim.kubeconfig, "apply", "-k", str(ROOT / "crds"))
        if result.returncode != 0:
            raise RuntimeError(result.stderr)
        self.api = api_client(self.sim.kubeconfig)
        self.operator = OperatorProcess(
            self.sim.kubeconfig,
            workdir,
            "bench",
            ("--gate-allow-cidr", "127.0.0.0/8", "--lease-duration", "15", "--renew-interval", "5"),
            verbose=False,  # as deployed: debug logging is for troubleshooting, not for measuring
        )
        self.results: dict[str, Any] = {}

    def close(self) -> None:
        self.operator.stop()
        self.api.close()
        self.sim.stop()

    def audit(self) -> list[dict[str, Any]]:
        return self.sim.audit()

    def namespace(self, containers: int = 1) -> Namespace:
        ns = Namespace(self.api)
        ns.deployment(images={f"c{i}": "registry.example/app:1" for i in range(containers)}, replicas=2)
        return ns

    # --- the operator ----------------------------------------------------------------------------------

    def operator_overhead(self) -> list[float]:
        samples = []
        for _ in range(self.size.overhead_runs):
            ns = self.namespace()
            mark = len(self.audit())
            ns.request("r", {"c0": "registry.example/app:2"})
            ns.wait_phase("r", timeout=60)
            records = self.audit()[mark:]
            created = next(
                r["time"]
                for r in records
                if r.get("resource") == "deploymentrequests"
                and r.get("verb") == "create"
                and r.get("namespace") == ns.name
            )
            patched = next(
                r["time"]
                for r in records
                if r.get("resource") == "deployments"
                and r.get("verb") == "patch"
                and r.get("namespace") == ns.name
            )
            samples.append((patched - created) * 1000)
        return samples

    def operator_handoff(self) -> list[float]:
        samples = []
        for _ in range(self.size.handoff_runs):
            ns = self.namespace(containers=2)
            mark = len(self.audit())
            ns.request("first", {"c0": "registry.example/app:2"})
            ns.request("second", {"c1": "registry.example/app:2"})
            ns.wait_phase("second", timeout=60)
            records = [r for r in self.audit()[mark:] if r.get("namespace") == ns.name]
            first_done = next(
                r["time"]
                for r in records
                if r.get("name") == "first"
                and r.get("subresource") == "status"
                and ((r.get("requestObject") or {}).get("status") or {}).get("phase") in TERMINAL
            )
            patches = [
                r["time"] for r in records if r.get("resource") == "deployments" and r.get("verb") == "patch"
            ]
            samples.append((patches[1] - first_done) * 1000)
        return samples

    def first_crash_watcher(self, ns: Namespace, stop: threading.Event) -> dict[str, float]:
        seen: dict[str, float] = {}

        def run() -> None:
            core = client.CoreV1Api(self.api)
            stream = watch.Watch()
            for event in stream.stream(core.list_namespaced_pod, ns.name, timeout_seconds=120):
                if stop.is_set():
                    stream.stop()
                    return
                for cs in event["object"].status.container_statuses or []:
                    if cs.restart_count and "crash" not in seen and "crashloop" in (cs.image or ""):
                        seen["crash"] = time.time()

        threading.Thread(target=run, daemon=True).start()
        return seen

    def wait_available_after(self, ns: Namespace) -> float:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            dep = ns.get_deployment()
            st, spec = dep.get("status") or {}, dep["spec"]
            if (
                st.get("observedGeneration", 0) >= dep["metadata"]["generation"]
                and st.get("updatedReplicas") == spec["replicas"] == st.get("availableReplicas")
                and st.get("replicas") == spec["replicas"]
                and dep["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/app:1"
            ):
                return time.time()
            time.sleep(0.02)
        raise TimeoutError("rollback never became available")

    def recovery(self, deploy: Callable[[Namespace], object]) -> tuple[list[float], list[float]]:
        """Seconds from the first crash of a bad release to the rollback patch, and to the rollback available."""
        to_patch, to_available = [], []
        for _ in range(self.size.recovery_runs):
            ns = self.namespace()
            stop = threading.Event()
            seen = self.first_crash_watcher(ns, stop)
            deploy(ns)
            stop.set()
            patches = [
                r["time"]
                for r in self.audit()
                if r.get("resource") == "deployments"
                and r.get("verb") == "patch"
                and r.get("namespace") == ns.name
            ]
            rollback_at = patches[1]
            available = self.wait_available_after(ns)
            crash = seen.get("crash", rollback_at)
            to_patch.append(rollback_at - crash)
            to_available.append(available - crash)
        return to_patch, to_available

    def operator_recovery(self) -> tuple[list[float], list[float]]:
        gate = {"name": "pods", "intervalSeconds": 1, "failureThreshold": 1, "pods": {"maxRestarts": 0}}

        def deploy(ns: Namespace) -> None:
            ns.request(
                "bad",
                {"c0": "registry.example/app:2-crashloop"},
                verification={"durationSeconds": 30},
                gates={"post": [gate]},
            )
            ns.wait_phase("bad", timeout=120)

        return self.recovery(deploy)

    def operator_throughput(self) -> dict[str, float]:
        spaces = [self.namespace(containers=5) for _ in range(self.size.throughput_namespaces)]
        mark = len(self.audit())
        pid = self.operator.proc.pid if self.operator.proc else 0
        peak = [rss_mb(pid)]
        done = threading.Event()

        def sample_rss() -> None:  # the operator's peak memory while it works
            while not done.wait(0.2):
                peak.append(rss_mb(pid))

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        cpu_before = cpu_seconds(pid)
        started = time.time()
        self.five_requests_each(spaces)
        total = time.time() - started
        cpu = (cpu_seconds(pid) - cpu_before) / total * 100
        done.set()
        sampler.join()
        records = self.audit()[mark:]
        count = 5 * len(spaces)
        return {
            "seconds": total,
            "rps": count / total,
            "overlaps": float(overlaps(records)),
            "rss_mb": max(peak),
            "cpu_percent": cpu,
            **api_cost(records, count, "deployreq/", "kopf/"),
        }

    @staticmethod
    def five_requests_each(spaces: list[Namespace]) -> None:
        """Scenario 4's load: five requests (one container each) in every namespace at once, waited to the end."""
        for ns in spaces:
            for i in range(5):
                ns.request(f"r{i}", {f"c{i}": "registry.example/app:2"})
        for ns in spaces:
            for i in range(5):
                ns.wait_phase(f"r{i}", timeout=600)

    def footprint(self, finished: int) -> dict[str, float]:
        ns = Namespace(self.api)
        custom = client.CustomObjectsApi(self.api)
        for i in range(finished):
            body = {
                "apiVersion": "deployreq.dev/v1alpha1",
                "kind": "DeploymentRequest",
                "metadata": {"name": f"done-{i}"},
                "spec": {"deployment": "web", "images": [{"container": "app", "image": "img/app:1"}]},
            }
            custom.create_namespaced_custom_object(
                "deployreq.dev", "v1alpha1", ns.name, "deploymentrequests", body
            )
            custom.patch_namespaced_custom_object_status(
                "deployreq.dev",
                "v1alpha1",
                ns.name,
                "deploymentrequests",
                f"done-{i}",
                {"status": {"phase": "Succeeded", "observedGeneration": 1, "message": "done"}},
            )
        self.operator.stop()
        self.operator.start()
        pid = self.operator.proc.pid if self.operator.proc else 0
        # Let the restarted operator list and index everything (its CPU settles), then measure it doing nothing.
        # Settled: three quiet 2 s windows in a row, longer than kopf's 5 s idle timeout of its per-object workers,
        # whose exit would otherwise land in the idle measurement. How long the restart took is a figure too.
        restarted, quiet = time.time(), 0
        while time.time() < restarted + 180 and quiet < 3:
            before = cpu_seconds(pid)
            time.sleep(2)
            quiet = quiet + 1 if (cpu_seconds(pid) - before) / 2 < 0.02 else 0
        settle = time.time() - restarted - 6
        cpu_before, wall_before = cpu_seconds(pid), time.time()
        time.sleep(10)
        cpu = (cpu_seconds(pid) - cpu_before) / (time.time() - wall_before) * 100
        return {"rss_mb": rss_mb(pid), "idle_cpu_percent": cpu, "settle_s": settle}

    # --- the baseline: the shell pipeline -------------------------------------------------------------------

    def baseline_script(self) -> Path:
        script = self.workdir / "deploy.sh"
        script.write_text(
            textwrap.dedent(f"""\
            #!/usr/bin/env bash
            # The pipeline deployreq replaces: a queue directory polled every {self.size.baseline_poll}s, a lock
            # file per namespace, kubectl set image / rollout status --timeout / rollout undo.
            set -u
            ns=$1 container=$2 image=$3 queue=$4
            touch "$queue/$ns.$$"
            until mkdir "$queue/$ns.lock" 2>/dev/null; do sleep {self.size.baseline_poll}; done
            sleep {self.size.baseline_poll}  # the queue poller picks the job up on its next tick
            kubectl -n "$ns" set image deployment/web "$container=$image" >/dev/null
            if ! kubectl -n "$ns" rollout status deployment/web --timeout={self.size.baseline_timeout}s >/dev/null 2>&1; then
              kubectl -n "$ns" rollout undo deployment/web >/dev/null
              kubectl -n "$ns" rollout status deployment/web --timeout={self.size.baseline_timeout}s >/dev/null 2>&1
            fi
            rmdir "$queue/$ns.lock"
            """)
        )
        script.chmod(0o755)
        return script

    def run_baseline(self, ns: Namespace, container: str, image: str, background: bool = False) -> Any:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.sim.kubeconfig),
            "KUBECACHEDIR": str(self.workdir / "baseline-cache"),
        }
        queue = self.workdir / "queue"
        queue.mkdir(exist_ok=True)
        args = ["bash", str(self.baseline_script()), ns.name, container, image, str(queue)]
        if background:
            return subprocess.Popen(args, env=env)
        return subprocess.run(args, env=env, check=False, timeout=600)

    def baseline(self) -> dict[str, Any]:
        overhead, handoff = [], []
        mark = len(self.audit())
        count = 0
        for _ in range(self.size.overhead_runs):
            ns = self.namespace()
            start = time.time()
            self.run_baseline(ns, "c0", "registry.example/app:2")
            count += 1
            patched = next(
                r["time"]
                for r in self.audit()
                if r.get("resource") == "deployments"
                and r.get("verb") == "patch"
                and r.get("namespace") == ns.name
            )
            overhead.append((patched - start) * 1000)
        cost = api_cost(self.audit()[mark:], count, "kubectl/")
        for _ in range(self.size.handoff_runs):
            ns = self.namespace(containers=2)
            first = self.run_baseline(ns, "c0", "registry.example/app:2", background=True)
            time.sleep(0.2)
            second = self.run_baseline(ns, "c1", "registry.example/app:2", background=True)
            first.wait(600)
            first_done = time.time()
            second.wait(600)
            patches = [
                r["time"]
                for r in self.audit()
                if r.get("resource") == "deployments"
                and r.get("verb") == "patch"
                and r.get("namespace") == ns.name
            ]
            handoff.append((patches[1] - first_done) * 1000)
        to_patch, to_available = self.recovery(
            lambda ns: self.run_baseline(ns, "c0", "registry.example/app:2-crashloop")
        )
        return {
            "overhead": overhead,
            "handoff": handoff,
            "to_patch": to_patch,
            "to_available": to_available,
            **cost,
        }


def overlaps(records: list[dict[str, Any]]) -> int:
    """Deployment writes of a namespace that fall outside the window of the one request that holds the lock."""
    windows: dict[tuple[str, str], list[float]] = {}
    for r in records:
        if r.get("resource") == "deploymentrequests" and r.get("subresource") == "status":
            phase = ((r.get("requestObject") or {}).get("status") or {}).get("phase")
            key = (r["namespace"], r["name"])
            if phase in ("Checking", "Deploying"):
                windows.setdefault(key, [r["time"], float("inf")])[0] = r["time"]
            elif phase in TERMINAL and key in windows:
                windows[key][1] = r["time"]
    bad = 0
    by_ns: dict[str, list[list[float]]] = {}
    for (ns, _), window in windows.items():
        by_ns.setdefault(ns, []).append(window)
    for spans in by_ns.values():
        spans.sort()
        bad += sum(1 for a, b in itertools.pairwise(spans) if a[1] > b[0])
    return bad


def api_cost(records: list[dict[str, Any]], requests: int, *agents: str) -> dict[str, float]:
    mine = [r for r in records if any(r.get("userAgent", "").startswith(a) for a in agents)]
    reads = sum(1 for r in mine if r.get("verb") in ("get", "list"))
    writes = sum(1 for r in mine if r.get("verb") in WRITES)
    watches = sum(1 for r in mine if r.get("verb") == "watch")
    per = max(1, requests)
    return {
        "reads_per_request": reads / per,
        "writes_per_request": writes / per,
        "watches_per_request": watches / per,
        "api_requests_per_request": len(mine) / per,
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    size_name = os.environ.get("SIZE", "default")
    size = SIZES.get(size_name)
    if size is None:
        print(f"bench: SIZE must be one of {', '.join(SIZES)}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="deployreq-bench-"))
    bench = Bench(size, workdir)
    out: dict[str, Any] = {
        "size": size_name,
        "baseline_poll_seconds": size.baseline_poll,
        "baseline_rollout_timeout_seconds": size.baseline_timeout,
    }
    try:
        bench.operator.start()
        overhead = bench.operator_overhead()
        handoff = bench.operator_handoff()
        to_patch, to_available = bench.operator_recovery()
        throughput = bench.operator_throughput()
        footprint = bench.footprint(size.finished_requests)
        bench.operator.stop()
        base = bench.baseline()
    finally:
        bench.close()
    out.update(
        {
            "overhead_p50_ms": statistics.median(overhead),
            "overhead_p99_ms": pct(overhead, 99),
            "handoff_p50_ms": statistics.median(handoff),
            "handoff_p99_ms": pct(handoff, 99),
            "crash_to_rollback_patch_s": statistics.median(to_patch),
            "crash_to_rollback_available_s": statistics.median(to_available),
            "throughput_rps": throughput["rps"],
            "throughput_seconds": throughput["seconds"],
            "throughput_requests": 5 * size.throughput_namespaces,
            "throughput_overlaps": throughput["overlaps"],
            "rss_mb_throughput_peak": throughput["rss_mb"],
            "cpu_percent_throughput": throughput["cpu_percent"],
            "api_requests_per_request": throughput["api_requests_per_request"],
            "api_reads_per_request": throughput["reads_per_request"],
            "api_writes_per_request": throughput["writes_per_request"],
            "api_watches_per_request": throughput["watches_per_request"],
            "rss_mb_10k_idle": footprint["rss_mb"],
            "idle_cpu_percent": footprint["idle_cpu_percent"],
            "restart_settle_s": footprint["settle_s"],
            "finished_requests_for_footprint": size.finished_requests,
            "baseline_overhead_p50_ms": statistics.median(base["overhead"]),
            "baseline_overhead_p99_ms": pct(base["overhead"], 99),
            "baseline_handoff_p50_ms": statistics.median(base["handoff"]),
            "baseline_handoff_p99_ms": pct(base["handoff"], 99),
            "baseline_crash_to_rollback_patch_s": statistics.median(base["to_patch"]),
            "baseline_crash_to_rollback_available_s": statistics.median(base["to_available"]),
            "baseline_api_requests_per_request": base["api_requests_per_request"],
        }
    )
    rows = [
        ("overhead p50 (ms)", "overhead_p50_ms"),
        ("overhead p99 (ms)", "overhead_p99_ms"),
        ("hand-off p50 (ms)", "handoff_p50_ms"),
        ("hand-off p99 (ms)", "handoff_p99_ms"),
        ("first crash -> rollback patch (s)", "crash_to_rollback_patch_s"),
        ("first crash -> rollback available (s)", "crash_to_rollback_available_s"),
        ("API requests per request", "api_requests_per_request"),
    ]
    print(
        f"\ndeployreq benchmark, SIZE={size_name}; baseline: queue poll {size.baseline_poll}s, "
        f"rollout status --timeout={size.baseline_timeout}s\n"
    )
    print(f"{'figure':<40} {'operator':>12} {'baseline':>12} {'ratio':>8}")
    for label, key in rows:
        ours, theirs = out[key], out.get(f"baseline_{key}")
        ratio = ours / theirs if theirs else float("nan")
        print(f"{label:<40} {ours:>12.2f} {theirs:>12.2f} {ratio:>8.3f}")
    print(
        f"{'throughput (requests/s)':<40} {out['throughput_rps']:>12.2f}   "
        f"({out['throughput_requests']} requests in {out['throughput_seconds']:.1f}s, "
        f"overlaps {int(out['throughput_overlaps'])})"
    )
    print(
        f"{'API reads / writes / watches per request':<40} {out['api_reads_per_request']:.2f} / "
        f"{out['api_writes_per_request']:.2f} / {out['api_watches_per_request']:.2f}"
    )
    print(
        f"{'RSS with finished requests (MB)':<40} {out['rss_mb_10k_idle']:>12.1f}   "
        f"({size.finished_requests} finished requests)"
    )
    print(f"{'idle CPU (%)':<40} {out['idle_cpu_percent']:>12.2f}")
    print(f"{'restart over them until idle (s)':<40} {out['restart_settle_s']:>12.1f}")
    print(
        f"{'while processing the throughput run':<40} {out['cpu_percent_throughput']:>11.0f}%   "
        f"(of one core; peak RSS {out['rss_mb_throughput_peak']:.1f} MB)"
    )
    Path(os.environ.get("BENCH_OUT", "bench-results.json")).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

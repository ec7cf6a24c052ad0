"""`make bench`: the operator against the shell pipeline it replaces, on the same kubesim, in the same run.

Every time comes from kubesim's audit trail (when the server received a request) or from watches in this process;
both use this machine's clock. Pods behave as a real kubelet's (kubesim's kubelet: readiness after a few seconds,
crash loops and their back-offs at real speed, ``--time-scale`` 1); only the scenario named ``cpu_cost`` uses
instant pods, to measure what the operator's own work costs. Sizes: tiny (the smoke test in ``make test``, with the
kubelet 10 times faster, stated in the result), small (a few minutes), default.
Writes the table to stdout and the figures as JSON to $BENCH_OUT (default bench-results.json), with the command,
the commit, the pod timings and the sample counts, so a published figure can be traced to its run.

``DEPLOYREQ_CLUSTER=controlplane`` runs it on the real control plane instead (scripts/cluster.py in the run's own
directory; times from the kube-apiserver's audit log, pods from kwok's stages; the crash-after-Ready and cpu_cost
scenarios need kubesim and are skipped there, as the result says).
"""

from __future__ import annotations

import datetime
import functools
import itertools
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubernetes import client, watch  # noqa: E402
from scripts.real_cluster import ControlPlane, selected, wait_established  # noqa: E402
from tests.system.harness import KubesimProcess, Namespace, OperatorProcess, api_client, run_kubectl  # noqa: E402

TERMINAL = {"Succeeded", "Failed", "RolledBack", "Cancelled", "Superseded"}
WRITES = {"create", "update", "patch", "delete", "deletecollection"}
GOOD, BAD = "registry.example/app:2", "registry.example/app:2-crashloop"
PERCENTILE_SAMPLES = 100
"""Below this many samples a tail figure is published as the maximum, never as a p99."""


@dataclass(frozen=True)
class PodTimings:
    """How kubesim's kubelet behaves during the run (seconds before ``time_scale``)."""

    time_scale: float
    pod_ready_seconds: float = 2.0
    image_pull_seconds: float = 0.5
    crash_after_seconds: float = 0.2
    late_crash_after_seconds: float = 8.0
    """The crash-after-Ready scenario: the pods pass readiness, the rollout completes, then they crash."""


@dataclass(frozen=True)
class Size:
    overhead_runs: int
    handoff_runs: int
    recovery_runs: int
    throughput_namespaces: int
    cpu_cost_namespaces: int
    finished_requests: int
    baseline_poll: float
    rollout_timeout: int
    """``rollout.timeoutSeconds`` of every request, and the pipeline's ``rollout status --timeout``."""
    pods: PodTimings
    idle_seconds: float = 10.0
    """How long the settled operator's idle CPU is measured (footprint)."""


SIZES = {
    # tiny is the smoke test of make test: 3 s of idle CPU show that the measurement works
    "tiny": Size(3, 2, 1, 3, 3, 50, 1.0, 10, PodTimings(time_scale=0.1), idle_seconds=3.0),
    "small": Size(10, 5, 2, 20, 40, 1000, 2.0, 30, PodTimings(time_scale=1.0)),
    "default": Size(30, 15, 3, 100, 200, 10000, 30.0, 120, PodTimings(time_scale=1.0)),
}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, values: list[float]) -> dict[str, float]:
    """``<name>_p50`` and, from 100 samples, ``<name>_p99``; below that the maximum as ``<name>_max``."""
    tail = (
        ("p99", pct(values, 99))
        if len(values) >= PERCENTILE_SAMPLES
        else ("max", max(values, default=math.nan))
    )
    return {
        f"{name}_p50": statistics.median(values) if values else math.nan,
        f"{name}_{tail[0]}": tail[1],
        f"{name}_samples": float(len(values)),
    }


def in_parallel(jobs: Iterable[Callable[[], Any]]) -> list[Any]:
    """Run ``jobs`` in threads (one per namespace), return their results in order; re-raise the first error."""
    jobs = list(jobs)
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(i: int, job: Callable[[], Any]) -> None:
        try:
            results[i] = job()
        except BaseException as exc:  # re-raised below, in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(900)
    if errors:
        raise errors[0]
    return results


class CrashWatcher:
    """Watches a namespace's pods from before the release; ``first_crash`` is when a status first showed a container
    of the bad image exited (``terminated``, ``lastState.terminated``, ``CrashLoopBackOff`` or a restart)."""

    def __init__(self, api: client.ApiClient, namespace: str, timeout: int = 600) -> None:
        self.api = api
        self.first_crash: float | None = None
        self._stop = threading.Event()
        self._crashed = threading.Event()
        core = client.CoreV1Api(api)
        listing = core.list_namespaced_pod(
            namespace
        )  # events after this version are replayed: none is missed
        self._thread = threading.Thread(
            target=self._run, args=(core, namespace, listing.metadata.resource_version, timeout), daemon=True
        )
        self._thread.start()

    def _run(self, core: client.CoreV1Api, namespace: str, version: str, timeout: int) -> None:
        stream = watch.Watch()
        try:
            for event in stream.stream(
                core.list_namespaced_pod, namespace, resource_version=version, timeout_seconds=timeout
            ):
                if self._stop.is_set():
                    break
                pod = self.api.sanitize_for_serialization(event["object"])
                for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                    if "crashloop" in str(cs.get("image")) and self.first_crash is None and shows_exit(cs):
                        self.first_crash = time.time()
                        self._crashed.set()
        except Exception:
            if not self._stop.is_set():
                raise
        stream.stop()

    def stop(self, wait: float = 0.0) -> float:
        """The first crash's time; waits up to ``wait`` seconds for it (a release that crashes after a pipeline
        already ended)."""
        self._crashed.wait(wait)
        self._stop.set()
        if self.first_crash is None:
            raise RuntimeError("the watcher saw no crash of the bad release: no figure without one")
        return self.first_crash


def shows_exit(cs: dict[str, Any]) -> bool:
    state, last = cs.get("state") or {}, cs.get("lastState") or {}
    return bool(
        "terminated" in state
        or "terminated" in last
        or (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff"
        or cs.get("restartCount")
    )


class Bench:
    def __init__(self, size: Size, workdir: Path) -> None:
        self.size = size
        self.workdir = workdir
        self.random = random.Random(1)
        self.cluster_kind = selected()
        self.sim: KubesimProcess | None = None
        self.cluster: ControlPlane | None = None
        if self.cluster_kind == "controlplane":
            # The real control plane in this run's own directory; pods are kwok's stages, Ready
            # pod_ready_seconds after scheduling, crash loops with the kubelet's back-off, both times time_scale.
            self.cluster = ControlPlane(
                workdir / "cluster",
                pod_ready_seconds=size.pods.pod_ready_seconds,
                time_scale=size.pods.time_scale,
            )
            self.kubeconfig = self.cluster.kubeconfig
        else:
            self.sim = KubesimProcess(workdir, "--fail-image", "*-crashloop", "--audit-bodies")
            self.kubeconfig = self.sim.kubeconfig
        try:
            if self.cluster is not None:
                self.cluster.start()
            elif self.sim is not None:
                self.sim.start()
            self.pods(size.pods.crash_after_seconds)
            result = run_kubectl(self.kubeconfig, "apply", "-k", str(ROOT / "crds"))
            if result.returncode != 0:
                raise RuntimeError(result.stderr)
            wait_established(self.kubeconfig)
        except BaseException:
            self.stop_cluster()  # never leave a cluster running
            raise
        self.api = api_client(self.kubeconfig)
        self.operator = OperatorProcess(
            self.kubeconfig,
            workdir,
            "bench",
            # No count limit on finished requests: the footprint scenario holds them all in one namespace.
            (
                "--gate-allow-cidr",
                "127.0.0.0/8",
                "--lease-duration",
                "15",
                "--renew-interval",
                "5",
                "--finished-history-limit",
                "0",
            ),
            verbose=False,  # as deployed: debug logging is for troubleshooting, not for measuring
        )
        self.results: dict[str, Any] = {}
        self.finished_example: dict[str, Any] = {}

    def pods(self, crash_after: float, instant: bool = False) -> None:
        """Set the kubelet's timings: the size's (real) ones, or instant pods for the CPU-cost scenario. On the
        control plane kwok's stages keep the timings the cluster started with."""
        t = self.size.pods
        if self.sim is None:
            return
        self.sim.settings(
            time_scale=0.0 if instant else t.time_scale,
            pod_ready_seconds=t.pod_ready_seconds,
            image_pull_seconds=t.image_pull_seconds,
            crash_after_seconds=crash_after,
        )

    def close(self) -> None:
        try:
            self.operator.stop()
            self.api.close()
        finally:
            self.stop_cluster()

    def stop_cluster(self) -> None:
        if self.sim is not None:
            self.sim.stop()
        if self.cluster is not None:
            self.cluster.stop()

    @property
    def real(self) -> bool:
        return self.cluster is not None

    def audit(self) -> list[dict[str, Any]]:
        """kubesim's audit trail, or the real API server's audit log read as the same records."""
        if self.cluster is not None:
            return self.cluster.audit()
        assert self.sim is not None
        return self.sim.audit()

    def server_pids(self) -> list[int]:
        """The processes that serve the cluster: kubesim, or the control plane's five."""
        if self.cluster is not None:
            names = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
            return [pid for pid in (self.cluster.pid(n) for n in names) if pid]
        return [self.sim.proc.pid] if self.sim is not None and self.sim.proc else []

    def namespaces(self, count: int, containers: int = 1) -> list[Namespace]:
        """``count`` namespaces, each with a 2-replica Deployment, created at once and waited until available."""
        spaces = [Namespace(self.api) for _ in range(count)]
        images = {f"c{i}": "registry.example/app:1" for i in range(containers)}
        for ns in spaces:
            ns.deployment(images=images, replicas=2, wait=False)
        for ns in spaces:
            ns.wait_deployment_available(timeout=120)
        return spaces

    def patches(self, namespace: str, since: int = 0) -> list[float]:
        return [
            r["time"]
            for r in self.audit()[since:]
            if r.get("resource") == "deployments"
            and not r.get("subresource")  # the real Deployment controller's status writes are not releases
            and r.get("verb") in WRITES
            and r.get("namespace") == namespace
        ]

    def request(self, ns: Namespace, name: str, images: dict[str, str], **spec: Any) -> None:
        ns.request(name, images, rollout={"timeoutSeconds": self.size.rollout_timeout}, **spec)

    # --- the operator ----------------------------------------------------------------------------------

    def operator_overhead(self) -> list[float]:
        """Request created -> Deployment patched, one request at a time on an idle operator."""
        samples = []
        spaces = self.namespaces(self.size.overhead_runs)
        for ns in spaces:
            mark = len(self.audit())
            self.request(ns, "r", {"c0": GOOD})
            ns.wait_request("r", lambda o: bool((o.get("status") or {}).get("patchedAt")), 60, "patched")
            records = self.audit()[mark:]
            created = next(
                r["time"]
                for r in records
                if r.get("resource") == "deploymentrequests"
                and r.get("verb") == "create"
                and r.get("namespace") == ns.name
            )
            samples.append((self.patches(ns.name, mark)[0] - created) * 1000)
        self.keep_finished_example(spaces[-1])
        return samples

    def keep_finished_example(self, ns: Namespace) -> None:
        """A real finished request (spec, status with history and conditions): the template of the footprint's."""
        done = ns.wait_phase("r", timeout=120)
        self.finished_example = {"spec": done["spec"], "status": done["status"]}

    def operator_handoff(self) -> list[float]:
        """One request ends -> the next one in the namespace patches; the namespaces run side by side."""

        def one(ns: Namespace) -> float:
            mark = len(self.audit())
            self.request(ns, "first", {"c0": GOOD})
            self.request(ns, "second", {"c1": GOOD})
            ns.wait_phase("second", timeout=300)
            records = [r for r in self.audit()[mark:] if r.get("namespace") == ns.name]
            first_done = next(
                r["time"]
                for r in records
                if r.get("name") == "first"
                and r.get("subresource") == "status"
                and ((r.get("requestObject") or {}).get("status") or {}).get("phase") in TERMINAL
            )
            return (self.patches(ns.name, mark)[1] - first_done) * 1000

        spaces = self.namespaces(self.size.handoff_runs, containers=2)
        return list(in_parallel([functools.partial(one, ns) for ns in spaces]))

    def recovery(
        self, deploy: Callable[[Namespace], object], late: bool = False
    ) -> tuple[list[float], list[float], list[Namespace], list[float]]:
        """Seconds from the first status showing a crash of the bad release to the rollback's first write, and to
        the rollback available; the releases run side by side, one namespace each. Last: the rollback's write ->
        available (the pipeline's time to restore as deployreq report counts it: it writes the undo as soon as it
        sees the failure, so that write stands for its detection)."""
        self.pods(self.size.pods.late_crash_after_seconds if late else self.size.pods.crash_after_seconds)
        spaces = self.namespaces(self.size.recovery_runs)

        def one(ns: Namespace) -> tuple[float, float, float] | None:
            watcher = CrashWatcher(self.api, ns.name)
            mark = len(self.audit())
            deploy(ns)
            crash = watcher.stop(wait=60)
            writes = self.patches(ns.name, mark)
            if len(writes) < 2:
                return None  # never rolled back
            available = wait_available(ns, "registry.example/app:1")
            return writes[1] - crash, available - crash, available - writes[1]

        try:
            outcomes = in_parallel([functools.partial(one, ns) for ns in spaces])
        finally:
            self.pods(self.size.pods.crash_after_seconds)
        done = [o for o in outcomes if o is not None]
        return [o[0] for o in done], [o[1] for o in done], spaces, [o[2] for o in done]

    def operator_recovery(self) -> tuple[list[float], list[float], list[float]]:
        """A release that crashes at start: the operator's verdict (CrashLoopBackOff) rolls it back. Last: the time
        to restore ``deployreq report`` states for each namespace (failure detected -> previous version available)."""

        def deploy(ns: Namespace) -> None:
            self.request(ns, "bad", {"c0": BAD})
            ns.wait_phase("bad", timeout=300)

        to_patch, to_available, spaces, _ = self.recovery(deploy)
        return to_patch, to_available, [self.reported_restore(ns) for ns in spaces]

    def reported_restore(self, ns: Namespace) -> float:
        """``deployreq report -n NS -o json``'s mean time to restore (a real process, as a user runs it)."""
        result = subprocess.run(
            [sys.executable, "-m", "deployreq", "report", "-n", ns.name, "-o", "json"],
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        restore = json.loads(result.stdout)["total"]["time_to_restore_mean_seconds"]
        if restore is None:
            raise RuntimeError(f"deployreq report saw no restore in {ns.name}: {result.stdout}")
        return float(restore)

    def operator_late_crash(self) -> tuple[list[float], list[float], list[str]]:
        """A release that passes readiness and crashes later: the rollout completes, so only the post gate
        (``pods``, no restart allowed, checked every second) can catch it; its verdict is kept to show it did."""
        gate = {"name": "pods", "intervalSeconds": 1, "failureThreshold": 1, "pods": {"maxRestarts": 0}}
        messages: list[str] = []

        def deploy(ns: Namespace) -> None:
            self.request(ns, "bad", {"c0": BAD}, verification={"durationSeconds": 60}, gates={"post": [gate]})
            done = ns.wait_phase("bad", timeout=300)
            history = [h.get("phase") for h in done["status"].get("history") or []]
            messages.append(
                f"{done['status']['phase']} after {' -> '.join(history)}: {done['status']['message']}"
            )

        to_patch, to_available, _, _ = self.recovery(deploy, late=True)
        return to_patch, to_available, messages

    def operator_throughput(self, namespaces: int, label: str) -> dict[str, float]:
        spaces = self.namespaces(namespaces, containers=5)
        mark = len(self.audit())
        pid = self.operator.proc.pid if self.operator.proc else 0
        sim_pids = self.server_pids()
        peak = [rss_mb(pid)]
        done = threading.Event()

        def sample_rss() -> None:  # the operator's peak memory while it works
            while not done.wait(0.2):
                peak.append(rss_mb(pid))

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        cpu_before, sim_before = cpu_seconds(pid), sum(map(cpu_seconds, sim_pids))
        started = time.time()
        self.five_requests_each(spaces)
        total = time.time() - started
        cpu, sim_cpu = cpu_seconds(pid) - cpu_before, sum(map(cpu_seconds, sim_pids)) - sim_before
        done.set()
        sampler.join()
        records = self.audit()[mark:]
        count = 5 * len(spaces)
        return {
            f"{label}_seconds": total,
            f"{label}_requests": float(count),
            f"{label}_rps": count / total,
            f"{label}_overlaps": float(overlaps(records)),
            f"{label}_rss_mb_peak": max(peak),
            f"{label}_cpu_percent": cpu / total * 100,
            f"{label}_operator_cpu_ms_per_request": cpu / count * 1000,
            f"{label}_kubesim_cpu_ms_per_request"
            if not self.real
            else f"{label}_cluster_cpu_ms_per_request": (sim_cpu / count * 1000),
            **{f"{label}_{k}": v for k, v in api_cost(records, count, "deployreq/", "kopf/").items()},
            **summary(f"{label}_overhead_ms", first_request_overheads(records)),
        }

    def five_requests_each(self, spaces: list[Namespace]) -> None:
        """Five requests (one container each) in every namespace at once, waited to the end."""
        for ns in spaces:
            for i in range(5):
                self.request(ns, f"r{i}", {f"c{i}": GOOD})
        for ns in spaces:
            for i in range(5):
                ns.wait_phase(f"r{i}", timeout=900)

    def footprint(self, finished: int) -> dict[str, float]:
        """RSS and idle CPU of an operator restarted over ``finished`` ended requests, each a copy of a real one
        (spec, and a status with its history, conditions and images), so each weighs what a real one does."""
        ns = Namespace(self.api)
        custom = client.CustomObjectsApi(self.api)
        example = self.finished_example
        size = 0
        for i in range(finished):
            body = {
                "apiVersion": "deployreq.dev/v1alpha1",
                "kind": "DeploymentRequest",
                "metadata": {"name": f"done-{i}"},
                "spec": example["spec"],
            }
            custom.create_namespaced_custom_object(
                "deployreq.dev", "v1alpha1", ns.name, "deploymentrequests", body
            )
            stored = custom.patch_namespaced_custom_object_status(
                "deployreq.dev",
                "v1alpha1",
                ns.name,
                "deploymentrequests",
                f"done-{i}",
                {"status": example["status"]},
            )
            size = len(json.dumps(stored))
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
        time.sleep(self.size.idle_seconds)
        cpu = (cpu_seconds(pid) - cpu_before) / (time.time() - wall_before) * 100
        return {
            "rss_mb_finished_idle": rss_mb(pid),
            "idle_cpu_percent": cpu,
            "restart_settle_s": settle,
            "finished_request_bytes": float(size),
        }

    # --- the baseline: the shell pipeline -------------------------------------------------------------------

    def baseline_script(self) -> Path:
        """Written once: bash reads a script as it runs it, so rewriting it under running copies breaks them."""
        script = self.workdir / "deploy.sh"
        if script.exists():
            return script
        poll, timeout = self.size.baseline_poll, self.size.rollout_timeout
        script.write_text(
            textwrap.dedent(f"""\
            #!/usr/bin/env bash
            # The pipeline deployreq replaces: a queue directory whose poller ticks every {poll}s (at a random
            # phase: a job waits $5 seconds for the next tick), a lock directory per namespace retried on every
            # tick, kubectl set image / rollout status --timeout={timeout}s (the operator's rollout timeout) / undo.
            set -u
            ns=$1 container=$2 image=$3 queue=$4 phase=$5
            sleep "$phase"
            until mkdir "$queue/$ns.lock" 2>/dev/null; do sleep {poll}; done
            kubectl -n "$ns" set image deployment/web "$container=$image" >/dev/null
            if ! kubectl -n "$ns" rollout status deployment/web --timeout={timeout}s >/dev/null 2>&1; then
              kubectl -n "$ns" rollout undo deployment/web >/dev/null
              kubectl -n "$ns" rollout status deployment/web --timeout={timeout}s >/dev/null 2>&1
            fi
            rmdir "$queue/$ns.lock"
            """)
        )
        script.chmod(0o755)
        return script

    def run_baseline(self, ns: Namespace, container: str, image: str, background: bool = False) -> Any:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "KUBECACHEDIR": str(self.workdir / "baseline-cache"),
        }
        queue = self.workdir / "queue"
        queue.mkdir(exist_ok=True)
        phase = f"{self.random.uniform(0, self.size.baseline_poll):.3f}"
        args = ["bash", str(self.baseline_script()), ns.name, container, image, str(queue), phase]
        log = (self.workdir / f"baseline-{ns.name}-{container}.log").open("w")
        if background:
            return subprocess.Popen(args, env=env, stderr=log)
        result = subprocess.run(args, env=env, check=False, timeout=900, stderr=log)
        if result.returncode != 0:
            raise RuntimeError(f"the pipeline failed ({result.returncode}): {log.name}")
        return result

    def baseline(self) -> dict[str, Any]:
        def overhead_one(ns: Namespace) -> float:
            mark = len(self.audit())
            start = time.time()
            self.run_baseline(ns, "c0", GOOD)
            return (self.patches(ns.name, mark)[0] - start) * 1000

        mark = len(self.audit())
        overhead = in_parallel(
            [functools.partial(overhead_one, ns) for ns in self.namespaces(self.size.overhead_runs)]
        )
        cost = api_cost(self.audit()[mark:], self.size.overhead_runs, "kubectl/")

        def handoff_one(ns: Namespace) -> float:
            """The job that took the lock first ends -> the other one patches (either may win the lock: each
            waits for its own poller's tick)."""
            mark = len(self.audit())
            jobs = [self.run_baseline(ns, "c0", GOOD, background=True)]
            time.sleep(0.2)
            jobs.append(self.run_baseline(ns, "c1", GOOD, background=True))
            deadline = time.monotonic() + 900
            while not any(job.poll() is not None for job in jobs):
                if time.monotonic() > deadline:
                    raise TimeoutError("the pipeline's jobs did not end")
                time.sleep(0.01)
            first_done = time.time()
            for job in jobs:
                job.wait(900)
            return (self.patches(ns.name, mark)[1] - first_done) * 1000

        spaces = self.namespaces(self.size.handoff_runs, containers=2)
        handoff = in_parallel([functools.partial(handoff_one, ns) for ns in spaces])
        to_patch, to_available, _, restore = self.recovery(lambda ns: self.run_baseline(ns, "c0", BAD))
        late_patch: list[float] = []
        late_spaces: list[Namespace] = []
        if not self.real:  # kwok's stages have no crash after Ready
            late_patch, _, late_spaces, _ = self.recovery(
                lambda ns: self.run_baseline(ns, "c0", BAD), late=True
            )
        return {
            "overhead": overhead,
            "handoff": handoff,
            "to_patch": to_patch,
            "to_available": to_available,
            "restore": restore,
            "late_rolled_back": len(late_patch),
            "late_runs": len(late_spaces),
            **cost,
        }


def wait_available(ns: Namespace, image: str, timeout: float = 600) -> float:
    """When the Deployment is available on ``image`` again (what `kubectl rollout status` checks)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dep = ns.get_deployment()
        st, spec = dep.get("status") or {}, dep["spec"]
        if (
            st.get("observedGeneration", 0) >= dep["metadata"]["generation"]
            and st.get("updatedReplicas") == spec["replicas"] == st.get("availableReplicas")
            and st.get("replicas") == spec["replicas"]
            and dep["spec"]["template"]["spec"]["containers"][0]["image"] == image
        ):
            return time.time()
        time.sleep(0.02)
    raise TimeoutError("rollback never became available")


def first_request_overheads(records: list[dict[str, Any]]) -> list[float]:
    """Created -> first Deployment write, for the first request of every namespace (it waits for no lock)."""
    created: dict[str, float] = {}
    first_write: dict[str, float] = {}
    for r in records:
        ns = r.get("namespace", "")
        if r.get("resource") == "deploymentrequests" and r.get("verb") == "create" and r.get("code", 0) < 300:
            created.setdefault(ns, r["time"])
        if (
            r.get("resource") == "deployments"
            and not r.get("subresource")
            and r.get("verb") in WRITES
            and ns in created
        ):
            first_write.setdefault(ns, r["time"])
    return [(first_write[ns] - created[ns]) * 1000 for ns in first_write]


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


def git_commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "scripts", "operator"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return result.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def main() -> int:
    size_name = os.environ.get("SIZE", "default")
    size = SIZES.get(size_name)
    if size is None:
        print(f"bench: SIZE must be one of {', '.join(SIZES)}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="deployreq-bench-"))
    bench = Bench(size, workdir)
    started = time.time()
    out: dict[str, Any] = {
        "command": os.environ.get(
            "BENCH_COMMAND",
            ("DEPLOYREQ_CLUSTER=controlplane " if bench.real else "") + f"make bench SIZE={size_name}",
        ),
        "commit": git_commit(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cores": os.cpu_count(),
        "size": size_name,
        "cluster": bench.cluster_kind,
        "pod_timings": asdict(size.pods)
        if not bench.real
        else {
            "source": "kwok stages (controlplane/stages)",
            "CLUSTER_POD_READY_SECONDS": size.pods.pod_ready_seconds,
            "CLUSTER_TIME_SCALE": size.pods.time_scale,
            "crash": "a crashloop container exits 0.2 s (scaled) after it starts; the first exit restarted at the "
            "1 s sync, then CrashLoopBackOff with 10 s, 20 s, ... back-offs (scaled)",
            "late_crash": "not available: no stage crashes a container after Ready (scenario skipped)",
            "instant_pods": "not available: the stages' timings are fixed at cluster start (cpu_cost skipped)",
        },
        "baseline_poll_seconds": size.baseline_poll,
        "rollout_timeout_seconds": size.rollout_timeout,
    }
    try:
        bench.operator.start()
        overhead = bench.operator_overhead()
        handoff = bench.operator_handoff()
        to_patch, to_available, restore = bench.operator_recovery()
        late_patch: list[float] = []
        late_available: list[float] = []
        late_messages: list[str] = []
        if not bench.real:  # kwok's stages have no crash after Ready
            late_patch, late_available, late_messages = bench.operator_late_crash()
        throughput = bench.operator_throughput(size.throughput_namespaces, "throughput")
        cpu_cost: dict[str, float] = {}
        if not bench.real:  # instant pods need kubesim's runtime settings
            bench.pods(size.pods.crash_after_seconds, instant=True)
            cpu_cost = bench.operator_throughput(size.cpu_cost_namespaces, "cpu_cost")
            bench.pods(size.pods.crash_after_seconds)
        footprint = bench.footprint(size.finished_requests)
        bench.operator.stop()
        base = bench.baseline()
    finally:
        bench.close()
    out.update(
        {
            **summary("overhead_ms", overhead),
            **summary("handoff_ms", handoff),
            **summary("crash_to_rollback_patch_s", to_patch),
            **summary("crash_to_rollback_available_s", to_available),
            **summary("time_to_restore_s", restore),
            **summary("late_crash_to_rollback_patch_s", late_patch),
            **summary("late_crash_to_rollback_available_s", late_available),
            "late_crash_verdicts": late_messages,
            **throughput,
            **cpu_cost,
            **footprint,
            "finished_requests_for_footprint": size.finished_requests,
            **{f"baseline_{k}": v for k, v in summary("overhead_ms", base["overhead"]).items()},
            **{f"baseline_{k}": v for k, v in summary("handoff_ms", base["handoff"]).items()},
            **{f"baseline_{k}": v for k, v in summary("crash_to_rollback_patch_s", base["to_patch"]).items()},
            **{
                f"baseline_{k}": v
                for k, v in summary("crash_to_rollback_available_s", base["to_available"]).items()
            },
            **{f"baseline_{k}": v for k, v in summary("time_to_restore_s", base["restore"]).items()},
            "baseline_late_crash_rolled_back": f"{base['late_rolled_back']} of {base['late_runs']}",
            "baseline_api_requests_per_request": base["api_requests_per_request"],
            "wall_seconds": time.time() - started,
        }
    )
    tail = "p99" if len(overhead) >= PERCENTILE_SAMPLES else "max"
    rows = [
        ("overhead p50 (ms)", "overhead_ms_p50"),
        (f"overhead {tail} (ms)", f"overhead_ms_{tail}"),
        ("hand-off p50 (ms)", "handoff_ms_p50"),
        ("first crash -> rollback write p50 (s)", "crash_to_rollback_patch_s_p50"),
        ("first crash -> rollback available p50 (s)", "crash_to_rollback_available_s_p50"),
        ("time to restore p50, as deployreq report (s)", "time_to_restore_s_p50"),
    ]
    t = size.pods
    print(
        f"\ndeployreq benchmark, SIZE={size_name}, cluster {bench.cluster_kind}; pods: Ready {t.pod_ready_seconds}s after start, crash "
        f"{t.crash_after_seconds}s after start (late crash {t.late_crash_after_seconds}s), kubelet time scale "
        f"{t.time_scale}; baseline: queue poll {size.baseline_poll}s at a random phase, rollout status "
        f"--timeout={size.rollout_timeout}s (the requests' rollout timeout)\n"
    )
    print(f"{'figure':<44} {'operator':>10} {'baseline':>10} {'ratio':>7}")
    for label, key in rows:
        ours, theirs = out[key], out.get(f"baseline_{key}", math.nan)
        ratio = ours / theirs if theirs else math.nan
        print(f"{label:<44} {ours:>10.2f} {theirs:>10.2f} {ratio:>7.3f}")
    print(
        f"{'late crash (after Ready) -> rollback write (s)':<44} {out['late_crash_to_rollback_patch_s_p50']:>10.2f} "
        f"{'never':>10}   (baseline rolled back {out['baseline_late_crash_rolled_back']})"
    )
    for message in late_messages:
        print(f"    {message}")
    print(
        f"{'throughput, real pods (requests/s)':<44} {out['throughput_rps']:>10.2f}   "
        f"({int(out['throughput_requests'])} requests in {out['throughput_seconds']:.1f}s, "
        f"overlaps {int(out['throughput_overlaps'])})"
    )
    if cpu_cost:
        print(
            f"{'cpu_cost, instant pods (requests/s)':<44} {out['cpu_cost_rps']:>10.2f}   "
            f"(operator {out['cpu_cost_operator_cpu_ms_per_request']:.1f} ms, kubesim "
            f"{out['cpu_cost_kubesim_cpu_ms_per_request']:.1f} ms of CPU per request; "
            f"{out['cpu_cost_cpu_percent']:.0f}% of a core)"
        )
    else:
        print(
            f"{'CPU per request, real pods (ms)':<44} {out['throughput_operator_cpu_ms_per_request']:>10.2f}   "
            f"(operator; the control plane's five processes "
            f"{out['throughput_cluster_cpu_ms_per_request']:.1f} ms; cpu_cost skipped: no instant pods)"
        )
    print(
        f"{'API requests per request (reads/writes)':<44} {out['throughput_api_requests_per_request']:>10.2f}   "
        f"({out['throughput_reads_per_request']:.2f} / {out['throughput_writes_per_request']:.2f}; baseline "
        f"{out['baseline_api_requests_per_request']:.2f})"
    )
    print(
        f"{'RSS with finished requests (MB)':<44} {out['rss_mb_finished_idle']:>10.1f}   "
        f"({size.finished_requests} finished requests of {out['finished_request_bytes']:.0f} bytes each)"
    )
    print(f"{'idle CPU (%)':<44} {out['idle_cpu_percent']:>10.2f}")
    print(f"{'restart over them until idle (s)':<44} {out['restart_settle_s']:>10.1f}")
    print(f"(whole run {out['wall_seconds']:.0f}s; every figure with its sample count in the JSON)")
    Path(os.environ.get("BENCH_OUT", "bench-results.json")).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

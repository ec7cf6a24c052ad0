"""`make demo`: kubesim, the operator and two requests, one that succeeds and one that is rolled back.

Everything runs as real processes (kubesim, ``deployreq run``, ``kubectl``) on 127.0.0.1, in a temporary directory;
the demo ends on the ``kubectl get deploymentrequests`` table and exits 0 when both requests ended as expected.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "demo"


def say(text: str) -> None:
    """A heading; bold only on a terminal (no escape codes in pipes and CI logs), and never with NO_COLOR set."""
    if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        print(f"\n\033[1m==> {text}\033[0m", flush=True)
    else:
        print(f"\n==> {text}", flush=True)


def main() -> int:
    kubectl_bin = shutil.which("kubectl")
    if kubectl_bin is None:
        print("demo: kubectl is not on PATH; install kubectl 1.30 or newer", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="deployreq-demo-"))
    kubeconfig = workdir / "kubeconfig"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(workdir / "cache")}
    procs: list[subprocess.Popen[str]] = []

    def kubectl(*args: str, check: bool = True) -> str:
        result = subprocess.run(
            [kubectl_bin, *args], env=env, text=True, capture_output=True, timeout=120, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    try:
        say("Starting kubesim (images ending in -crashloop will crash-loop)")
        sim = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kubesim",
                "--port",
                "0",
                "--kubeconfig",
                str(kubeconfig),
                "--pod-ready-seconds",
                "0.5",
                "--fail-image",
                "*-crashloop",
                "--audit-log",
                str(workdir / "audit.jsonl"),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        procs.append(sim)
        assert sim.stdout is not None
        ready = sim.stdout.readline().strip()
        if not ready.startswith("kubesim ready"):
            raise RuntimeError(f"kubesim did not start: {ready!r}")
        print(ready)

        say("Installing the DeploymentRequest CRD and a sample Deployment")
        print(kubectl("apply", "-k", str(ROOT / "crds")), end="")
        kubectl(
            "wait", "--for=condition=Established", "crd/deploymentrequests.deployreq.dev", "--timeout=30s"
        )
        print(kubectl("apply", "-f", str(EXAMPLES / "deployment.yaml")), end="")
        print(kubectl("rollout", "status", "deployment/web", "--timeout=60s"), end="")

        say("Starting the operator (deployreq run)")
        operator_log = (workdir / "operator.log").open("w")
        op = subprocess.Popen(
            [sys.executable, "-m", "deployreq", "run", "--identity", "demo", "--log-format", "text"],
            env=env,
            stdout=operator_log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        procs.append(op)

        say("A release that succeeds: web 1.1")
        print(kubectl("apply", "-f", str(EXAMPLES / "request-good.yaml")), end="")
        kubectl("wait", "--for=condition=Complete", "deploymentrequest/web-1-1", "--timeout=90s")
        print(kubectl("get", "deploymentrequests"), end="")

        say("A release whose pods crash-loop: web 2.0, rolled back automatically")
        print(kubectl("apply", "-f", str(EXAMPLES / "request-bad.yaml")), end="")
        kubectl("wait", "--for=condition=Complete", "deploymentrequest/web-2-0", "--timeout=90s")

        say("kubectl rollout history deployment/web")
        print(kubectl("rollout", "history", "deployment/web"), end="")
        image = kubectl("get", "deployment/web", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
        print(f"deployment/web runs {image}")

        say("kubectl get deploymentrequests -o wide")
        print(kubectl("get", "deploymentrequests", "-o", "wide"), end="")
        phases = kubectl(
            "get",
            "deploymentrequests",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}",
        ).split()
        expected = {"web-1-1=Succeeded", "web-2-0=RolledBack"}
        if set(phases) != expected or image != "registry.example/web:1.1":
            print(
                f"demo: unexpected outcome {phases}, image {image}; operator log: {workdir / 'operator.log'}",
                file=sys.stderr,
            )
            return 1
        return 0
    finally:
        for proc in reversed(procs):
            proc.terminate()
        deadline = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())

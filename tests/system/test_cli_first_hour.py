"""The CLI and kubectl as a new user meets them: an empty queue, the active request's POSITION, rollback to the last
good images, progress while waiting (a live line on a terminal, plain lines in a log)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.conftest import require_kubectl
from tests.system.cluster import Cluster
from tests.system.harness import Namespace, run_kubectl
from tests.system.test_cli import cli, waiting

pytestmark = pytest.mark.system
LONG = "release-of-the-web-frontend-for-black-friday"


def test_an_empty_queue_says_so(cluster: Cluster, ns: Namespace) -> None:
    every = cli(cluster, "queue", "-A")
    assert every.returncode == 0, every.stderr
    assert every.stdout == "No requests waiting or running in any namespace.\n"
    one = cli(cluster, "queue", "-n", ns.name)
    assert one.stdout == f"No requests waiting or running in namespace {ns.name}.\n"


def test_the_active_request_has_no_position_in_kubectl_get(cluster: Cluster, ns: Namespace) -> None:
    require_kubectl()
    ns.deployment()
    ns.deployment("api")
    ns.request(LONG, {"app": "registry.example/web:1.1"}, verification={"durationSeconds": 300})
    ns.wait_phase(LONG, "Verifying", timeout=30)
    ns.request("next", {"app": "registry.example/web:1.2"}, deployment="api")
    ns.wait_request("next", lambda o: (o.get("status") or {}).get("queuePosition") == 1, 30)
    table = run_kubectl(cluster.kubeconfig, "get", "deploymentrequests", "-n", ns.name).stdout.splitlines()
    header = table[0]
    column = header.index("POSITION")
    rows = {line.split()[0]: line for line in table[1:]}
    assert rows[LONG][column:].split()[0] != "0", table  # blank POSITION: the next cell is AGE
    assert rows[LONG][column : column + 8].strip() == "", table
    assert rows["next"][column : column + 8].strip() == "1", table
    queue = cli(cluster, "queue", "-n", ns.name).stdout.splitlines()
    starts = {line.index(ns.name) for line in queue if not line.startswith("NAMESPACE")}
    assert len(starts) == 1
    name_at = queue[0].index("NAME ")
    assert [line[name_at:].split()[0] for line in queue[2:]] == [LONG, "next"], queue
    assert queue[2].split()[1] == "active"
    ns.delete(LONG)
    ns.wait_phase("next", timeout=60)


def test_rollback_after_an_automatic_rollback_keeps_the_last_good_images(
    cluster: Cluster, ns: Namespace
) -> None:
    ns.deployment()
    good, bad = ns.map.real("registry.example/web:1.1"), ns.map.real("registry.example/web:2.0-crashloop")
    for name, image, code in (("web-1-1", good, 0), ("web-2-0", bad, 1)):
        created = cli(
            cluster, "create", name, "-n", ns.name, "--deployment", "web", "--image", f"app={image}", "--wait",
            "--timeout", waiting(ns),
        )  # fmt: skip
        assert created.returncode == code, created.stdout + created.stderr
    assert ns.images() == {"app": "registry.example/web:1.1"}
    result = cli(cluster, "rollback", "web", "-n", ns.name)
    assert result.returncode == 0, result.stderr
    assert 'already runs the last good images, those of request "web-1-1"' in result.stdout
    assert f"app={good}" in result.stdout
    assert ns.images() == {"app": "registry.example/web:1.1"}
    undo = cli(cluster, "rollback", "web", "-n", ns.name, "--undo", "--dry-run")
    assert undo.returncode == 0, undo.stderr
    assert f"rollback restores revision 3: app={bad}" in undo.stdout
    assert "created" not in undo.stdout


def test_rollback_of_a_good_release_shows_and_restores_the_one_before(
    cluster: Cluster, ns: Namespace
) -> None:
    ns.deployment()
    for name, image in (("v1-1", "registry.example/web:1.1"), ("v1-2", "registry.example/web:1.2")):
        created = cli(
            cluster, "create", name, "-n", ns.name, "--deployment", "web", "--image", f"app={ns.map.real(image)}",
            "--wait", "--timeout", waiting(ns),
        )  # fmt: skip
        assert created.returncode == 0, created.stdout + created.stderr
    result = cli(cluster, "rollback", "web", "-n", ns.name, "--wait", "--timeout", waiting(ns))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"deployment/web runs app={ns.map.real('registry.example/web:1.2')}"
    assert lines[1].startswith('rollback restores request "v1-1" (Succeeded ')
    assert lines[1].endswith(f"app={ns.map.real('registry.example/web:1.1')}")
    assert "created" in lines[2]
    assert ns.images() == {"app": "registry.example/web:1.1"}
    named = cli(cluster, "rollback", "web", "-n", ns.name, "--to-request", "v1-2", "--dry-run")
    assert named.stdout.splitlines()[1] == (
        f'rollback restores request "v1-2" (Succeeded): app={ns.map.real("registry.example/web:1.2")}'
    )


def test_waiting_in_a_log_prints_progress_lines_and_no_control_characters(
    cluster: Cluster, ns: Namespace
) -> None:
    ns.deployment()
    result = cli(
        cluster, "create", "calm", "-n", ns.name, "--deployment", "web", "--verify", "4s",
        "--image", f"app={ns.map.real('registry.example/web:1.1')}", "--wait", "--timeout", waiting(ns),
        "--progress-interval", "1s",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    progress = [line for line in result.stdout.splitlines() if "  calm  Verifying  waited " in line]
    assert progress, result.stdout
    assert any("verification" in line and "s left" in line for line in progress), progress


def test_waiting_on_a_terminal_shows_a_live_line(cluster: Cluster, ns: Namespace) -> None:
    ns.deployment()
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "COLUMNS": "200"}
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "deployreq", "create", "live", "-n", ns.name, "--deployment", "web",
            "--verify", "3s", "--image", f"app={ns.map.real('registry.example/web:1.1')}", "--wait",
            "--timeout", waiting(ns),
        ],
        stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    os.close(follower)
    out = b""
    deadline = time.monotonic() + 60 * ns.slow
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    assert proc.wait(10) == 0, out.decode(errors="replace")
    text = out.decode()
    assert "\r\x1b[Klive  Verifying  waited " in text, text
    assert "verification" in text and "s left" in text
    assert "Succeeded" in text.splitlines()[-1]

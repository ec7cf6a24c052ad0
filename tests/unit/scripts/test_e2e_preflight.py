"""`make e2e-kind` on a machine without Docker stops at once and says what is missing and what to run instead."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "e2e-preflight.sh"


def preflight(bin_dir: Path) -> subprocess.CompletedProcess[str]:
    tail = shutil.which("tail")
    assert tail is not None
    (bin_dir / "tail").symlink_to(tail)
    return subprocess.run(
        ["/bin/bash", str(SCRIPT)], env={"PATH": str(bin_dir)}, capture_output=True, text=True, check=False
    )


def fake(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/bash\n{script}\n")
    path.chmod(0o755)


def test_without_docker_it_says_docker_is_not_installed(tmp_path: Path) -> None:
    result = preflight(tmp_path)
    assert result.returncode == 2
    assert "Docker is not installed" in result.stderr
    assert "make test" in result.stderr and "make e2e" in result.stderr


def test_with_docker_but_no_daemon_it_quotes_dockers_own_words(tmp_path: Path) -> None:
    fake(
        tmp_path,
        "docker",
        'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1',
    )
    result = preflight(tmp_path)
    assert result.returncode == 2
    assert "the Docker daemon does not answer (Cannot connect to the Docker daemon" in result.stderr


def test_with_docker_and_kubectl_it_lets_the_run_go_on(tmp_path: Path) -> None:
    fake(tmp_path, "docker", "exit 0")
    fake(tmp_path, "kubectl", "exit 0")
    result = preflight(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "pytest-kind will download kind" in result.stderr


def test_the_makefile_runs_the_preflight_before_pytest() -> None:
    makefile = (ROOT / "Makefile").read_text()
    target = makefile[makefile.index("e2e-kind: $(STAMP)") :]
    assert target.index("scripts/e2e-preflight.sh") < target.index("$(E2E_PYTEST)")

"""scripts/ensure-prometheus.sh, run by `make test`: installs Debian's prometheus package when it is missing, and
when it cannot, says why (the tests then skip with that reason) without failing make.

Each case runs the script with a PATH of its own: the shell tools it uses, and fake ``id``, ``apt-get`` and
``sudo`` that record how they were called.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "ensure-prometheus.sh"
TOOLS = ("bash", "mkdir", "dirname", "rm", "tail", "tr", "mktemp", "head", "cat", "chmod", "printf")


def sandbox(tmp_path: Path, uid: int, apt: str | None, sudo: bool = False) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)

    def fake(name: str, body: str) -> None:
        path = bin_dir / name
        path.write_text(f"#!{shutil.which('bash')}\n{body}\n")
        path.chmod(0o755)

    fake("id", f"echo {uid}")
    calls = tmp_path / "calls"
    if apt is not None:
        fake("apt-get", f'echo "apt-get $*" >> {calls}\n{apt}')
    if sudo:
        fake(
            "sudo", f'echo "sudo $*" >> {calls}\n[ "$1" = -n ] && shift\n[ "$1" = true ] && exit 0\nexec "$@"'
        )
    return bin_dir


def run(tmp_path: Path, bin_dir: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    reason = tmp_path / "venv" / "prometheus-unavailable"
    result = subprocess.run(
        [str(bin_dir / "bash"), str(SCRIPT), str(reason)],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result, reason


INSTALLS = 'if [ "$1" = install ]; then for t in prometheus promtool; do printf "#!/bin/sh\\necho $t, version 2.42.0\\n" > "$(dirname "$0")/$t"; chmod +x "$(dirname "$0")/$t"; done; fi'


def test_as_root_it_runs_apt_get_update_then_installs_the_package(tmp_path: Path) -> None:
    bin_dir = sandbox(tmp_path, 0, INSTALLS)
    result, reason = run(tmp_path, bin_dir)
    assert result.returncode == 0, result.stderr
    assert not reason.exists()
    assert (tmp_path / "calls").read_text().splitlines() == [
        "apt-get update -q",
        "apt-get install -y -q --no-install-recommends prometheus",
    ]
    assert "installing Debian's prometheus package" in result.stderr
    assert (bin_dir / "prometheus").exists() and (bin_dir / "promtool").exists()


def test_with_password_less_sudo_it_installs_through_sudo(tmp_path: Path) -> None:
    bin_dir = sandbox(tmp_path, 1000, INSTALLS, sudo=True)
    result, reason = run(tmp_path, bin_dir)
    assert result.returncode == 0 and not reason.exists(), result.stderr
    assert (
        "sudo -n apt-get install -y -q --no-install-recommends prometheus" in (tmp_path / "calls").read_text()
    )


@pytest.mark.parametrize(
    ("uid", "apt", "said"),
    [
        (1000, "exit 0", "installing Debian's prometheus package needs root"),
        (0, None, "apt-get is missing"),
        (0, "echo 'E: Could not resolve deb.debian.org' >&2; exit 100", "apt-get update failed: E: Could not resolve"),
        (0, '[ "$1" = install ] && { echo "E: Unable to locate package prometheus" >&2; exit 100; }; exit 0',
         "apt-get install -y prometheus failed: E: Unable to locate package prometheus"),
    ],
)  # fmt: skip
def test_when_it_cannot_install_it_says_why_and_does_not_fail_make(
    tmp_path: Path, uid: int, apt: str | None, said: str
) -> None:
    result, reason = run(tmp_path, sandbox(tmp_path, uid, apt))
    assert result.returncode == 0
    assert said in reason.read_text(), reason.read_text()
    assert said in result.stderr and "the tests that need it are skipped" in result.stderr


def test_nothing_is_installed_when_prometheus_is_there(tmp_path: Path) -> None:
    bin_dir = sandbox(tmp_path, 0, "exit 1")
    for tool in ("prometheus", "promtool"):
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    result, reason = run(tmp_path, bin_dir)
    assert result.returncode == 0 and not reason.exists()
    assert not (tmp_path / "calls").exists()
    assert os.access(SCRIPT, os.X_OK)

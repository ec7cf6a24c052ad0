"""README's "Run it yourself", followed as written on a fresh clone: three terminals, every command as printed.

The clone gets a ``.venv`` the fast way by default: a venv whose ``.pth`` puts the clone's ``operator/`` and the
packages of the running test environment on its path, with the console scripts ``pip install -e .`` would write, and
the Makefile's stamp, so the README's ``make venv`` finds it made. ``DEPLOYREQ_WALKTHROUGH_VENV=fresh`` lets
``make venv`` build it for real (a minute or more, and network access). The kubeconfig path the README names is
replaced by one in the test's temporary directory.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_kubectl

pytestmark = pytest.mark.system
ROOT = Path(__file__).resolve().parents[2]
README_KUBECONFIG = "/tmp/deployreq-kubeconfig"


def run_it_yourself_blocks(readme: str) -> list[str]:
    """The ``sh`` blocks of the "Run it yourself" section, in order (terminal 1, 2, 3)."""
    section = readme.split("## Run it yourself", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def commands(block: str) -> list[str]:
    """One command per line, without the trailing comments."""
    out = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            out.append(shlex.join(words))
    return out


def fast_venv(clone: Path) -> None:
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    here = sysconfig.get_paths()["purelib"]
    (purelib / "deployreq-walkthrough.pth").write_text(f"{clone / 'operator'}\n{here}\n")
    for script, module in (
        ("deployreq", "deployreq.cli.main"),
        ("kubectl-deployreq", "deployreq.cli.main"),
        ("kubesim", "kubesim.cli"),
    ):
        path = venv / "bin" / script
        path.write_text(
            f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom {module} import main\nsys.exit(main())\n"
        )
        path.chmod(0o755)
    (venv / ".installed-stamp").touch()


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not on PATH")
    target = tmp_path / "deployreq"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True)
    if os.environ.get("DEPLOYREQ_WALKTHROUGH_VENV") != "fresh":
        fast_venv(target)
    return target


class Terminal:
    """One of the README's terminals: a bash running a block, in its own process group."""

    def __init__(self, clone: Path, env: dict[str, str], block: str) -> None:
        self.proc = subprocess.Popen(
            ["bash", "-c", "set -e\n" + block],
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.seen: list[str] = []

    def wait_for(self, text: str) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # ends when the terminal's commands end
            self.seen.append(line)
            if text in line:
                return
        raise AssertionError(f"{text!r} never printed; the terminal said:\n{''.join(self.seen)}")

    def stop(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl-C, as the README says
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in reversed(opened):
        terminal.stop()


def test_the_readme_run_it_yourself_section_works_on_a_fresh_clone(
    clone: Path, terminals: list[Terminal], tmp_path: Path
) -> None:
    require_kubectl()
    blocks = run_it_yourself_blocks((clone / "README.md").read_text())
    assert len(blocks) == 3, blocks
    kubeconfig = tmp_path / "kubeconfig"
    blocks = [b.replace(README_KUBECONFIG, str(kubeconfig)) for b in blocks]
    path = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if Path(sys.executable).parent != Path(p)
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "KUBECONFIG", "PYTHONPATH")},
        "PATH": path,
        "KUBECACHEDIR": str(tmp_path / "kubectl-cache"),
    }
    assert shutil.which("deployreq", path=path) is None, "deployreq must come from the clone's .venv"

    cluster = Terminal(clone, env, blocks[0])
    terminals.append(cluster)
    cluster.wait_for("kubesim ready")
    operator = Terminal(clone, env, blocks[1])
    terminals.append(operator)
    operator.wait_for("condition met")

    # Terminal 3: every command on its own, its output and exit code recorded.
    script = "\n".join(f"echo '+ '{shlex.quote(c)}\n{c}\necho \"= $?\"" for c in commands(blocks[2]))
    you = subprocess.run(
        ["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True, timeout=400, check=False
    )
    steps = re.findall(r"^\+ ([^\n]*)\n(.*?)^= (\d+)$", you.stdout, re.S | re.M)
    assert [c for c, _, _ in steps] == commands(blocks[2]), you.stdout + you.stderr
    for command, output, code in steps[:-2]:
        assert int(code) == 0, f"{command} exited {code}:\n{output}\n{you.stderr}"
    create, create_out, create_code = steps[-2]
    assert create.startswith("deployreq create web-2-0") and int(create_code) == 1, create_out
    assert "RolledBack" in create_out.strip().splitlines()[-1], create_out
    queue_command, queue_out, queue_code = steps[-1]
    assert queue_command == "deployreq queue -A" and int(queue_code) == 0
    assert queue_out == "No requests waiting or running in any namespace.\n", queue_out
    status = next(out for c, out, _ in steps if c.startswith("deployreq status"))
    assert "Name:         web-1-1" in status


def test_make_demo_in_a_pipe_writes_no_escape_codes_and_says_how_to_run_it_yourself(clone: Path) -> None:
    require_kubectl()
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "NO_COLOR")}
    result = subprocess.run(
        ["make", "demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "\x1b" not in result.stdout + result.stderr
    assert "\n==> A release that succeeds: web 1.1\n" in result.stdout
    assert "'source .venv/bin/activate' puts deployreq and kubesim on PATH" in result.stdout

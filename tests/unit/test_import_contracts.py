"""The deployreq import contracts of pyproject.toml catch a violation planted in a copy of the tree.

Each case copies ``operator/deployreq`` to a temporary directory, adds one forbidden import to one module and runs
``lint-imports`` with the deployreq contracts on the copy: it must fail and name the contract. The untouched copy
passes, so the failure is the planted line's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def deployreq_contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = [c for c in config["contracts"] if str(c["name"]).startswith("deployreq")]
    assert len(contracts) == 5, [c["name"] for c in contracts]
    return contracts


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def lint(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    lines = ["[tool.importlinter]", 'root_packages = ["deployreq"]', "include_external_packages = true"]
    for contract in deployreq_contracts():
        lines += ["", "[[tool.importlinter.contracts]]"]
        lines += [f"{key} = {toml_value(value)}" for key, value in contract.items()]
    config = tmp_path / "contracts.toml"
    config.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "operator" / "deployreq", tmp_path / "src" / "deployreq")
    return tmp_path


def test_the_untouched_tree_keeps_every_deployreq_contract(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("decide/queue.py", "import kopf", "the model and the decisions do no I/O"),
        ("api/model.py", "import httpx", "the model and the decisions do no I/O"),
        ("decide/rollout.py", "import prometheus_client", "the model and the decisions do no I/O"),
        ("decide/progress.py", "from deployreq.cluster import kube", "deployreq layers"),
        ("api/phases.py", "from deployreq.decide import queue", "deployreq layers"),
        ("engine/worker.py", "from deployreq.wiring import handlers", "deployreq layers"),
        ("gates/base.py", "from deployreq.notify import event", "know nothing of each other"),
        ("cluster/lease.py", "from deployreq.gates import tracker", "know nothing of each other"),
        ("engine/worker.py", "import kopf", "only wiring imports kopf"),
        ("cluster/kube.py", "import kubernetes", "only cluster.credentials loads the kubernetes library"),
    ],
)
def test_a_planted_violation_fails_lint_imports(tree: Path, module: str, planted: str, broken: str) -> None:
    path = tree / "src" / "deployreq" / module
    path.write_text(path.read_text() + f"\n{planted}  # planted\n")
    result = lint(tree)
    assert result.returncode != 0, result.stdout
    (name,) = [str(c["name"]) for c in deployreq_contracts() if broken in str(c["name"])]
    assert f"{name} BROKEN" in " ".join(result.stdout.split()), result.stdout

"""kubesim's import contracts (pyproject.toml) are enforced: lint-imports passes on a copy of the package and fails
on the same copy with a planted violation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def kubesim_contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts: list[dict[str, object]] = config["contracts"]
    return [c for c in contracts if str(c["name"]).startswith("kubesim") and "deployreq" not in str(c)]


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of operator/kubesim with a config holding only kubesim's own contracts."""
    shutil.copytree(
        ROOT / "operator" / "kubesim", tmp_path / "kubesim", ignore=shutil.ignore_patterns("__pycache__")
    )
    lines = ["[tool.importlinter]", 'root_packages = ["kubesim"]', "include_external_packages = true", ""]
    for contract in kubesim_contracts():
        lines.append("[[tool.importlinter.contracts]]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in contract.items())
        lines.append("")
    (tmp_path / "contracts.toml").write_text("\n".join(lines))
    return tmp_path


def lint(copy: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run(
        [str(LINT_IMPORTS), str(copy / "contracts.toml"), "--no-cache"],
        check=False,
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def plant(copy: Path, module: str, line: str) -> None:
    path = copy / "kubesim" / module
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_kubesim_contracts_exist() -> None:
    names = [str(c["name"]) for c in kubesim_contracts()]
    assert any("layers" in n for n in names)
    assert any("HTTP" in n for n in names)


def test_the_copy_keeps_the_contracts(copy: Path) -> None:
    result = lint(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("storage/store.py", "import aiohttp  # planted", "nothing below the endpoints speaks HTTP"),
        ("controllers/gc.py", "from kubesim.endpoints import server  # planted", "kubesim layers"),
        ("api/errors.py", "from kubesim.storage import store  # planted", "kubesim layers"),
    ],
)
def test_a_planted_violation_fails(copy: Path, module: str, line: str, broken: str) -> None:
    plant(copy, module, line)
    result = lint(copy)
    assert result.returncode != 0, result.stdout
    assert broken in " ".join(result.stdout.split())
    assert "BROKEN" in result.stdout

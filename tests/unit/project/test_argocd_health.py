"""The Argo CD health check, run by a real Lua interpreter over DeploymentRequests of every phase."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import LuaRuntime

ROOT = Path(__file__).resolve().parents[3]
HEALTH = ROOT / "manifests" / "argocd" / "health.lua"


def health(obj: dict[str, Any]) -> tuple[str, str]:
    lua = LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = _to_lua(lua, obj)
    result = lua.execute(HEALTH.read_text())
    return str(result["status"]), str(result["message"])


def _to_lua(lua: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return lua.table_from({k: _to_lua(lua, v) for k, v in value.items()})
    if isinstance(value, list):
        return lua.table_from([_to_lua(lua, v) for v in value])
    return value


def request(phase: str | None, message: str = "", generation: int = 2, observed: int = 2) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"name": "web", "generation": generation}}
    if phase is not None:
        obj["status"] = {"phase": phase, "message": message, "observedGeneration": observed}
    return obj


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("Pending", "Progressing"),
        ("Queued", "Progressing"),
        ("Checking", "Progressing"),
        ("Deploying", "Progressing"),
        ("Verifying", "Progressing"),
        ("RollingBack", "Progressing"),
        ("Succeeded", "Healthy"),
        ("Failed", "Degraded"),
        ("RolledBack", "Degraded"),
        ("Cancelled", "Healthy"),
        ("Superseded", "Healthy"),
    ],
)
def test_every_phase_maps_to_a_health_status_with_the_status_message(phase: str, expected: str) -> None:
    assert health(request(phase, message=f"request is {phase}")) == (expected, f"request is {phase}")


def test_a_new_request_without_status_is_progressing() -> None:
    assert health(request(None))[0] == "Progressing"


def test_an_unobserved_generation_is_progressing_even_after_success() -> None:
    status, message = health(request("Succeeded", message="done", generation=3, observed=2))
    assert status == "Progressing"
    assert "generation 3" in message


def test_an_empty_message_falls_back_to_the_phase() -> None:
    assert health(request("Failed")) == ("Degraded", "Failed")


def test_the_argocd_cm_patch_carries_health_lua_unchanged() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("DEPLOYREQ_REQUIRE_KUBECTL") == "1":
            pytest.fail("kubectl is required (DEPLOYREQ_REQUIRE_KUBECTL=1) but not on PATH")
        pytest.skip("kubectl is not on PATH")
    out = subprocess.run(
        [kubectl, "kustomize", str(HEALTH.parent)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    (cm,) = [doc for doc in yaml.safe_load_all(out) if doc]
    assert (cm["kind"], cm["metadata"]["name"], cm["metadata"]["namespace"]) == (
        "ConfigMap",
        "argocd-cm",
        "argocd",
    )
    assert cm["data"] == {
        "resource.customizations.health.deployreq.dev_DeploymentRequest": HEALTH.read_text()
    }


def test_a_release_of_several_workloads_is_degraded_with_the_message_naming_them() -> None:
    obj = request(
        "Failed", "Rolled back deployment/api; left alone statefulset/db: it was changed by someone else"
    )
    obj["spec"] = {"workloads": [{"name": "api"}, {"kind": "StatefulSet", "name": "db"}]}
    obj["status"]["workloads"] = [{"kind": "Deployment", "name": "api", "patchedGeneration": 2}]
    status, message = health(obj)
    assert status == "Degraded" and "left alone statefulset/db" in message

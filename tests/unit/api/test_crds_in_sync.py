"""The CRD in crds/ is generated from the pydantic model and must not drift from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployreq.api import crdgen

ROOT = Path(__file__).resolve().parents[3]


def test_the_committed_crd_is_what_the_model_generates() -> None:
    committed = (ROOT / "crds" / crdgen.FILE_NAME).read_text()
    assert committed == crdgen.dump(), "crds/ drifted from operator/deployreq/api/model.py: run `make crds`"


def test_every_schema_node_has_a_type_or_an_explicit_escape() -> None:
    schema = crdgen.render()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]

    def walk(node: dict, path: str) -> None:  # type: ignore[type-arg]
        escapes = ("x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields")
        assert "type" in node or any(node.get(e) for e in escapes), path
        assert "anyOf" not in node and "$ref" not in node, path
        for name, sub in (node.get("properties") or {}).items():
            walk(sub, f"{path}.{name}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]")

    walk(schema, "")


def test_check_passes_on_fresh_output_and_fails_with_a_diff_on_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert crdgen.main([str(tmp_path)]) == 0
    assert crdgen.main(["--check", str(tmp_path)]) == 0
    crd = tmp_path / crdgen.FILE_NAME
    crd.write_text(crd.read_text().replace("dreq", "dr"))
    capsys.readouterr()
    assert crdgen.main(["--check", str(tmp_path)]) == 1
    assert "\n-    - dr\n+    - dreq\n" in capsys.readouterr().out


def test_the_kustomization_has_a_name_kubectl_apply_f_skips(tmp_path: Path) -> None:
    """`kubectl apply -f crds/` reads every .yaml/.yml/.json file; the kustomization must not be one of them."""
    committed = sorted(p.name for p in (ROOT / "crds").iterdir())
    assert committed == ["Kustomization", crdgen.FILE_NAME]
    (tmp_path / "kustomization.yaml").write_text(crdgen.KUSTOMIZATION)
    assert crdgen.main(["--check", str(tmp_path)]) == 1
    assert crdgen.main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Kustomization", crdgen.FILE_NAME]

"""The CRDs in crds/ are generated from the pydantic models and must not drift from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployreq.api import crdgen

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("kind", crdgen.KINDS, ids=lambda k: k.kind)
def test_the_committed_crds_are_what_the_models_generate(kind: crdgen.Kind) -> None:
    committed = (ROOT / "crds" / crdgen.file_name(kind)).read_text()
    assert committed == crdgen.dump(kind), f"crds/ drifted from {kind.source}: run `make crds`"


@pytest.mark.parametrize("kind", crdgen.KINDS, ids=lambda k: k.kind)
def test_every_schema_node_has_a_type_or_an_explicit_escape(kind: crdgen.Kind) -> None:
    schema = crdgen.render(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]

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
    assert crdgen.main([str(tmp_path)]) == 0
    (tmp_path / crdgen.POLICY_FILE_NAME).unlink()
    assert crdgen.main(["--check", str(tmp_path)]) == 1


def test_the_kustomization_has_a_name_kubectl_apply_f_skips(tmp_path: Path) -> None:
    """`kubectl apply -f crds/` reads every .yaml/.yml/.json file; the kustomization must not be one of them."""
    committed = sorted(p.name for p in (ROOT / "crds").iterdir())
    every = sorted(["Kustomization", crdgen.FILE_NAME, crdgen.POLICY_FILE_NAME, crdgen.APPROVAL_FILE_NAME])
    assert committed == every
    (tmp_path / "kustomization.yaml").write_text(crdgen.KUSTOMIZATION)
    assert crdgen.main(["--check", str(tmp_path)]) == 1
    assert crdgen.main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == every

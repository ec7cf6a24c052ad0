"""Printer-column JSONPath as client-go's jsonpath evaluates it."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim.api.jsonpath import evaluate

OBJ: dict[str, Any] = {
    "metadata": {"name": "w", "annotations": {"example.com/owner": "team-a"}},
    "spec": {
        "replicas": 3,
        "images": [{"container": "app", "image": "app:2"}, {"container": "log", "image": "log:1"}],
    },
    "status": {
        "conditions": [
            {"type": "Ready", "status": "True", "count": 1},
            {"type": "Progressing", "status": "False", "count": 5},
        ]
    },
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".spec.replicas", [3]),
        ("{.spec.replicas}", [3]),
        ("$.spec.replicas", [3]),
        (".spec.images[0].image", ["app:2"]),
        (".spec.images[-1].container", ["log"]),
        (".spec.images[5].image", []),
        (".spec.images[*].container", ["app", "log"]),
        (".spec.images[0:1].container", ["app"]),
        (".metadata.annotations['example.com/owner']", ["team-a"]),
        ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
        (".status.conditions[?(@.type!='Ready')].type", ["Progressing"]),
        (".status.conditions[?(@.count>2)].type", ["Progressing"]),
        (".status.conditions[?(@.missing)].type", []),
        (".status.conditions[?(@.count)].type", ["Ready", "Progressing"]),
        ("..image", ["app:2", "log:1"]),
        (".status.nothing.deeper", []),
    ],
)
def test_evaluate(path: str, expected: list[Any]) -> None:
    assert evaluate(OBJ, path) == expected

"""Problems with a request that only the live Deployment reveals."""

from __future__ import annotations

from typing import Any

import pytest

from deployreq.api.model import DeploymentRequestSpec, ImageUpdate
from deployreq.decide.semantic import check_against_deployment

DEPLOYMENT: dict[str, Any] = {
    "metadata": {"name": "web"},
    "spec": {
        "template": {
            "spec": {
                "initContainers": [{"name": "migrate", "image": "m:1"}],
                "containers": [{"name": "app", "image": "a:1"}, {"name": "sidecar", "image": "s:1"}],
            }
        }
    },
}


def images(*containers: str) -> DeploymentRequestSpec:
    """A spec naming ``containers`` (built unvalidated: the model itself refuses a container listed twice)."""
    listed = [ImageUpdate(container=c, image="img:2") for c in containers]
    return DeploymentRequestSpec.model_construct(deployment="web", images=listed)


def test_a_request_for_existing_containers_has_no_problems() -> None:
    assert check_against_deployment(images("app", "sidecar"), DEPLOYMENT) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            images("app", "api"),
            ['Deployment "web" has no container "api" (its containers: app, sidecar); fix spec.images'],
            id="unknown container names the existing ones",
        ),
        pytest.param(
            images("migrate"),
            [
                'Deployment "web" has no container "migrate" (it is an init container; deployreq sets only the '
                "images of regular containers) (its containers: app, sidecar); fix spec.images"
            ],
            id="init containers are explained",
        ),
        pytest.param(
            images("app", "app"),
            ['container "app" is listed 2 times in spec.images; list each container once'],
            id="duplicates",
        ),
    ],
)
def test_problems_say_what_to_fix(spec: DeploymentRequestSpec, expected: list[str]) -> None:
    assert check_against_deployment(spec, DEPLOYMENT) == expected


def test_a_deployment_without_containers_says_none() -> None:
    bare = {"metadata": {"name": "web"}, "spec": {}}
    assert check_against_deployment(images("app"), bare) == [
        'Deployment "web" has no container "app" (its containers: none); fix spec.images'
    ]

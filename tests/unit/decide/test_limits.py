"""The operator's limits on what one request may ask for: over them a request ends Failed at once, naming the flag."""

from __future__ import annotations

from typing import Any

from deployreq.api.model import DeploymentRequestSpec
from deployreq.api.phases import Phase
from deployreq.decide.semantic import Limits, over_limits

IMAGES = [{"container": "app", "image": "img:2"}]


def typed(**fields: Any) -> DeploymentRequestSpec:
    return DeploymentRequestSpec.model_validate({"deployment": "web", "images": IMAGES, **fields})


def test_within_the_limits_nothing_is_said() -> None:
    spec = typed(verification={"durationSeconds": 3600}, rollout={"timeoutSeconds": 600})
    assert over_limits(spec, Limits()) == []
    assert over_limits(typed(), Limits()) == []  # the model's defaults (0 s, 600 s) are within


def test_each_limit_over_names_its_flag() -> None:
    spec = typed(verification={"durationSeconds": 86400}, rollout={"timeoutSeconds": 7200})
    problems = over_limits(spec, Limits(max_verification_seconds=600, max_rollout_timeout_seconds=3600))
    assert problems == [
        "spec.verification.durationSeconds is 86400, over this operator's limit of 600 (--max-verification); "
        "ask for less or have the limit raised",
        "spec.rollout.timeoutSeconds is 7200, over this operator's limit of 3600 (--max-rollout-timeout); "
        "ask for less or have the limit raised",
    ]


def test_the_default_rollout_timeout_counts_against_a_lower_limit() -> None:
    assert "--max-rollout-timeout" in over_limits(typed(), Limits(max_rollout_timeout_seconds=300))[0]


def test_a_request_over_a_limit_ends_failed_before_anything_runs() -> None:
    from deployreq.decide import progress, rollout, steps
    from tests.unit.decide.test_progress import NOW, deployment, request

    problems = ("spec.verification.durationSeconds is 7200, over ... (--max-verification)",)
    step = progress.next_step(
        request("Checking"), progress.World(deployment(), over_limits=problems), NOW, rollout.Thresholds()
    )
    assert step == steps.Finish(Phase.FAILED, problems[0], "OverLimit")

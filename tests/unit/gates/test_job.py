"""The job gate's check through the stage runner: one Job per stage run, a failure final, the Job's wait bounded by
the gate's own timeoutSeconds rather than the per-check timeout."""

from __future__ import annotations

import dataclasses
from typing import Any

from deployreq.api.job_spec import JobGate
from deployreq.api.model import Gate
from deployreq.gates import Observation, run_stage
from deployreq.gates.tracker import Thresholds
from tests.unit.gates.fakes import JumpClock, make_env, no_http

POD = {"restartPolicy": "Never", "containers": [{"name": "m", "image": "registry.example/migrate:1"}]}


def gate(name: str = "migrate", **common: Any) -> dict[str, Any]:
    return {"name": name, "job": {"spec": {"template": {"spec": POD}}}, **common}


class Jobs:
    """A stand-in for the engine's run_job: answers the given observation and counts the Jobs run."""

    def __init__(self, answer: Observation) -> None:
        self.answer = answer
        self.ran: list[str] = []

    async def __call__(self, name: str, job: JobGate) -> Observation:
        self.ran.append(name)
        return self.answer


async def test_a_completed_job_passes_and_runs_once_through_a_post_window() -> None:
    jobs = Jobs(Observation(True, "Job x complete (1 succeeded)"))
    env = dataclasses.replace(make_env(no_http), run_job=jobs)
    clock = JumpClock()
    result = await run_stage([gate(intervalSeconds=5)], "post", env, until=clock.now() + 60, clock=clock)
    assert result.passed, result.message
    assert jobs.ran == ["migrate"]  # checked again through the window, the Job is not run again
    assert result.records[0].kind == "job" and result.records[0].last_value == "Job x complete (1 succeeded)"


async def test_a_failed_job_fails_the_gate_at_once_and_for_good() -> None:
    jobs = Jobs(Observation(False, "", "Job x failed: BackoffLimitExceeded"))
    env = dataclasses.replace(make_env(no_http), run_job=jobs)
    result = await run_stage([gate(failureThreshold=3)], "pre", env, clock=JumpClock())
    assert not result.passed and result.failed_gate == "migrate"
    record = result.records[0]
    assert record.final and record.consecutive_failures == 1 and jobs.ran == ["migrate"]
    assert "BackoffLimitExceeded" in result.message


async def test_without_api_access_a_job_gate_cannot_run() -> None:
    result = await run_stage([gate()], "pre", make_env(no_http), clock=JumpClock())
    assert not result.passed and result.records[0].final
    assert "job gates cannot run here" in (result.records[0].last_error or "")


def test_the_wait_is_bounded_by_the_jobs_timeout_not_the_checks() -> None:
    job = Gate.model_validate(
        {**gate(), "timeoutSeconds": 5, "job": {"spec": gate()["job"]["spec"], "timeoutSeconds": 900}}
    )
    assert Thresholds.from_spec(job).timeout == 930
    http = Gate.model_validate({"name": "h", "timeoutSeconds": 5, "http": {"url": "http://a.example/"}})
    assert Thresholds.from_spec(http).timeout == 5

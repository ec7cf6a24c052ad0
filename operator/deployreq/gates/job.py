"""The ``job`` gate: a Job the operator runs to completion (a database migration before the change, a smoke test
after it); the gate passes when the Job completes and fails, at once and for good, when it fails.

The check itself holds no API access: ``env.run_job`` (the engine's) creates the Job, or finds the one this run
created, and waits for its Complete or Failed condition. One Job per stage run: the verdict is kept, so a post
stage checking the gate again through the verification window does not run the Job twice.
"""

from __future__ import annotations

from typing import Any

from deployreq.api.job_spec import JobGate
from deployreq.gates.base import GateEnv, GateError, Observation


class JobCheck:
    kind = "job"

    def __init__(self, name: str, job: JobGate) -> None:
        self.name = name
        self.job = job
        self.verdict: Observation | None = None

    @classmethod
    def from_spec(cls, gate: Any) -> JobCheck:
        return cls(str(gate.name), gate.job)

    async def observe(self, env: GateEnv) -> Observation:
        if self.verdict is not None:
            return self.verdict
        if env.run_job is None:
            raise GateError("job gates cannot run here: the operator has no API access for them", final=True)
        obs = await env.run_job(self.name, self.job)
        self.verdict = Observation(obs.passed, obs.value, obs.error, final=obs.passed is False)
        return self.verdict

"""Runs one stage's gates concurrently and turns their records into a stage verdict.

- ``pre``: returns Passed when every gate has reached Passed, Failed as soon as one gate fails. With
  ``until`` set, a gate not Passed by then fails the stage (a deadline: an inconclusive gate cannot hold the
  namespace lock forever).
- ``post``: keeps checking every gate until ``until`` (the end of the verification window) and fails as soon
  as one gate fails. At ``until`` the stage passes only if every gate reached Passed at least once during the
  window (a gate that never passed verified nothing). Without ``until`` it behaves as ``pre``.

Each check is bounded by its ``timeoutSeconds`` (a timeout counts as a failure), runs as its own task, and the
whole stage is cancellable: cancelling ``run_stage`` cancels every check. Status snapshots go through
``on_update`` only when an entry changed in more than its check time; a failing ``on_update`` is logged and
does not change the verdict. ``on_check`` feeds metrics with every check's kind, result and duration.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from deployreq.api.model import Gate
from deployreq.gates import tracker
from deployreq.gates.base import Check, GateEnv, GateError, Observation
from deployreq.gates.registry import as_gate, build_check, gate_kind
from deployreq.gates.settings import GateSettings
from deployreq.gates.tracker import GatePhase, GateRecord, Thresholds

log = logging.getLogger(__name__)

OnUpdate = Callable[[list[dict[str, Any]]], Awaitable[None]]
"""Receives the whole ``status.gates[]`` list of the stage whenever an entry changed."""
OnCheck = Callable[[str, str, float], None]
"""Called after every check with (kind, result, seconds); result is pass, fail, inconclusive or error
(the labels of ``deployreq_gate_evaluations``)."""


class Stage(StrEnum):
    PRE = "pre"
    POST = "post"


class Clock(Protocol):
    """Wall time and sleeping; tests pass a clock whose sleep advances time at once."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True)
class StageResult:
    """The stage verdict, the gate that decided it (if one did) and every gate's final record."""

    passed: bool
    message: str
    records: tuple[GateRecord, ...]
    failed_gate: str | None = None

    def statuses(self) -> list[dict[str, Any]]:
        return [r.to_status() for r in self.records]


def skip_refusal(skip: bool, settings: GateSettings) -> str | None:
    """Why ``spec.gates.skip: true`` is refused (None when not asked or allowed)."""
    if skip and not settings.allow_skip:
        return "spec.gates.skip is refused: the operator does not allow skipping gates (--allow-gate-skip)"
    return None


async def observe_bounded(check: Check, env: GateEnv, seconds: float) -> Observation:
    """One observation within ``seconds``; errors become failed observations (this is the boundary)."""
    return (await _observe(check, env, seconds))[0]


def _result_label(obs: Observation) -> str:
    return {True: "pass", False: "fail", None: "inconclusive"}[obs.passed]


async def _observe(check: Check, env: GateEnv, seconds: float) -> tuple[Observation, str]:
    """The observation, Secret values masked, and its metrics label: pass, fail, inconclusive, or error."""
    obs, label = await _observe_raw(check, env, seconds)
    return Observation(obs.passed, env.redact(obs.value), env.redact(obs.error), obs.final), label


async def _observe_raw(check: Check, env: GateEnv, seconds: float) -> tuple[Observation, str]:
    try:
        async with asyncio.timeout(seconds):
            obs = await check.observe(env)
    except TimeoutError:
        return Observation(False, "", f"timed out after {seconds:g}s"), "error"
    except GateError as exc:
        return Observation(False, "", str(exc), final=exc.final), "error"
    except LookupError as exc:
        return Observation(False, "", f"not found: {exc}"), "error"
    except Exception as exc:  # a bug in a check must fail the gate, not kill the operator's worker
        log.exception("gate check %s crashed", check.kind)
        return Observation(
            False, "", f"internal error in the {check.kind} check ({type(exc).__name__})"
        ), "error"
    return obs, _result_label(obs)


class _Stage:
    """The mutable bookkeeping of one run: the latest record of each gate and the publisher."""

    def __init__(
        self, records: list[GateRecord], on_update: OnUpdate | None, on_check: OnCheck | None
    ) -> None:
        self.records = records
        self.on_update = on_update
        self.on_check = on_check
        self.lock = asyncio.Lock()

    async def set(self, index: int, record: GateRecord) -> None:
        async with self.lock:
            changed = tracker.visible_change(self.records[index], record)
            self.records[index] = record
            if changed:
                await self.publish()

    async def publish(self) -> None:
        """Hand the snapshot to ``on_update``; status is best effort: a failed write is logged, not fatal."""
        if self.on_update is None:
            return
        try:
            await self.on_update([r.to_status() for r in self.records])
        except Exception:  # the verdict still stands; the next change publishes again
            log.warning("publishing gate status failed", exc_info=True)

    def checked(self, kind: str, result: str, seconds: float) -> None:
        if self.on_check is not None:
            self.on_check(kind, result, seconds)


async def _gate_loop(
    *,
    state: _Stage,
    index: int,
    check: Check,
    thresholds: Thresholds,
    stage: Stage,
    env: GateEnv,
    until: float | None,
    clock: Clock,
) -> None:
    while True:
        record = state.records[index]
        if until is not None and record.next_check_at >= until:
            return
        delay = record.next_check_at - clock.now()
        if delay > 0:
            await clock.sleep(delay)
        began = time.monotonic()
        obs, label = await _observe(check, env, thresholds.timeout)
        state.checked(check.kind, label, time.monotonic() - began)
        record = tracker.observe(
            state.records[index],
            thresholds,
            passed=obs.passed,
            value=obs.value,
            error=obs.error,
            now=clock.now(),
            final=obs.final,
        )
        log.debug(
            "gate %s/%s: %s (%s)", stage.value, record.name, record.phase.value, record.last_error or ""
        )
        await state.set(index, record)
        if record.phase is GatePhase.FAILED:
            return
        if record.phase is GatePhase.PASSED and (stage is Stage.PRE or until is None):
            return


async def run_stage(
    gates: Sequence[Gate | Mapping[str, Any]],
    stage: Stage | str,
    env: GateEnv,
    *,
    until: float | None = None,
    on_update: OnUpdate | None = None,
    clock: Clock | None = None,
    on_check: OnCheck | None = None,
) -> StageResult:
    """Run ``stage``'s gates to a verdict (see the module docstring); never raises for a failing gate."""
    stage = Stage(stage)
    clock = clock or SystemClock()
    planned = _plan(gates, stage, clock.now())
    if isinstance(planned, StageResult):
        if planned.records:
            await _Stage(list(planned.records), on_update, None).publish()
        return planned
    records, plans = planned
    state = _Stage(records, on_update, on_check)
    await state.publish()
    tasks = [
        asyncio.create_task(
            _gate_loop(
                state=state,
                index=i,
                check=check,
                thresholds=thresholds,
                stage=stage,
                env=env,
                until=until,
                clock=clock,
            ),
            name=f"gate-{stage.value}-{records[i].name}",
        )
        for i, (check, thresholds) in enumerate(plans)
    ]
    try:
        failed = await _first_failure(state, tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if failed is not None:
        message = f"{stage.value} gate {failed.name} failed: {failed.last_error or ''}".rstrip(": ")
        return StageResult(False, message, tuple(state.records), failed.name)
    return _verdict(stage, tuple(state.records), until)


def _plan(
    gates: Sequence[Gate | Mapping[str, Any]], stage: Stage, now: float
) -> tuple[list[GateRecord], list[tuple[Check, Thresholds]]] | StageResult:
    """Each gate's first record and its check; the stage's verdict at once when there is no gate or one is
    invalid (that gate's record says why)."""
    records: list[GateRecord] = []
    plans: list[tuple[Check, Thresholds]] = []
    for spec in gates:
        try:
            gate = as_gate(spec)
            kind = gate_kind(gate)
            check = build_check(gate)
        except GateError as exc:
            name = spec.name if isinstance(spec, Gate) else str(spec.get("name", "?"))
            record = GateRecord(
                name=name,
                stage=stage.value,
                kind="unknown",
                phase=GatePhase.FAILED,
                last_error=str(exc),
                last_check_time=now,
                final=True,
            )
            return StageResult(False, f"{stage.value} gate {name} is invalid: {exc}", (record,), name)
        thresholds = Thresholds.from_spec(gate)
        records.append(tracker.start(gate.name, stage.value, kind, thresholds, now))
        plans.append((check, thresholds))
    if not plans:
        return StageResult(True, f"no {stage.value} gates", ())
    return records, plans


async def _first_failure(state: _Stage, tasks: list[asyncio.Task[None]]) -> GateRecord | None:
    """Wait for the gate loops; the first gate that failed (the others are then moot), or None when all ended."""
    pending: set[asyncio.Task[None]] = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # a crash of the loop itself is a bug: let it surface
        failed = next((r for r in state.records if r.phase is GatePhase.FAILED), None)
        if failed is not None:
            return failed
    return None


def _verdict(stage: Stage, records: tuple[GateRecord, ...], until: float | None) -> StageResult:
    if stage is Stage.POST and until is not None:
        missing = [r.name for r in records if not r.ever_passed]
        if missing:
            return StageResult(
                False,
                f"post gate {missing[0]} did not pass during the verification window",
                records,
                missing[0],
            )
        return StageResult(
            True, f"all {len(records)} post gates held through the verification window", records
        )
    missing = [r.name for r in records if r.phase is not GatePhase.PASSED]
    if missing:
        return StageResult(
            False, f"{stage.value} gate {missing[0]} did not pass in time", records, missing[0]
        )
    return StageResult(True, f"all {len(records)} {stage.value} gates passed", records)

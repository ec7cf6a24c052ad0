"""When a request runs again: a new generation after it ended, or a new value of the rerun annotation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployreq.api.names import RERUN_ANNOTATION
from deployreq.api.phases import TERMINAL, Phase


def needs_run(generation: int, annotations: Mapping[str, str], status: Mapping[str, Any]) -> bool:
    """A finished request runs again only when its spec changed or a person asked for a re-run.

    Re-applying the same spec does not bump the generation, so it never starts a run; a Failed or RolledBack request
    therefore stays ended while git keeps naming the bad version.
    """
    try:
        phase = Phase(status.get("phase") or Phase.PENDING)
    except ValueError:
        return True
    if phase not in TERMINAL:
        return False
    if generation > int(status.get("observedGeneration") or 0):
        return True
    rerun = annotations.get(RERUN_ANNOTATION, "")
    return bool(rerun) and rerun != (status.get("observedRerun") or "")

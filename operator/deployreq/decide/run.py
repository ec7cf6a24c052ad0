"""When a request runs again: a new generation after it ended, or a new value of the rerun annotation."""

from __future__ import annotations

from deployreq.api.request import Request


def needs_run(req: Request) -> bool:
    """A finished request runs again only when its spec changed or a person asked for a re-run.

    Re-applying the same spec does not bump the generation, so it never starts a run; a Failed or RolledBack request
    therefore stays ended while git keeps naming the bad version.
    """
    if not req.terminal:
        return False
    if req.generation > (req.summary.observed_generation or 0):
        return True
    return bool(req.rerun) and req.rerun != (req.summary.observed_rerun or "")


def fresh_run(req: Request) -> bool:
    """Whether the request's next run is a new one (ended, changed since, or re-run), not a retry of this one."""
    return (
        req.terminal
        or (req.summary.observed_generation or 0) != req.generation
        or (req.summary.observed_rerun or "") != req.rerun
    )

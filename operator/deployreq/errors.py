"""The operator's own exception tree; API errors are translated into it at one boundary (``kube.py``)."""

from __future__ import annotations


class DeployreqError(Exception):
    """Base of every error the operator raises on purpose."""


class ApiError(DeployreqError):
    """The API server answered with an error status."""

    def __init__(self, code: int, reason: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth retrying unchanged: server errors, throttling, timeouts."""
        return self.code >= 500 or self.code in {429, 0}


class NotFound(ApiError):
    """404."""


class Conflict(ApiError):
    """409: a stale resourceVersion or an existing name."""


class Invalid(ApiError):
    """422: the server refused the content."""


class Forbidden(ApiError):
    """403: RBAC refused the call."""


class TransportError(ApiError):
    """No answer from the API server (connection refused, reset, timed out)."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "TransportError", message)


class RequestInvalid(DeployreqError):
    """A request that cannot run as written; the message says what to fix. Ends the request Failed."""

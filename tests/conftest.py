"""Shared test configuration: kubectl availability (a failure on CI, a skip elsewhere)."""

from __future__ import annotations

import os

import pytest

from tests.system.harness import kubectl_binary


def require_kubectl() -> None:
    if kubectl_binary() is None:
        if os.environ.get("DEPLOYREQ_REQUIRE_KUBECTL") == "1":
            pytest.fail("kubectl is required (DEPLOYREQ_REQUIRE_KUBECTL=1) but is not on PATH")
        pytest.skip("kubectl is not on PATH: install kubectl to run the tests that drive it")

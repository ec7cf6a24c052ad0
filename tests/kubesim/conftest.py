"""Fixtures for kubesim's tests: see tests/support/fixtures.py."""

from tests.support.fixtures import kubectl, kubesim, simulator

__all__ = ["kubectl", "kubesim", "simulator"]

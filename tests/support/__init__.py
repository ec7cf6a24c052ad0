"""Shared test helpers: kubesim as a real process or in-process, and the real kubectl against it."""

from tests.support.kubectl import kubectl_binary, require_kubectl, run_kubectl
from tests.support.process import KubesimProcess

__all__ = ["KubesimProcess", "kubectl_binary", "require_kubectl", "run_kubectl"]

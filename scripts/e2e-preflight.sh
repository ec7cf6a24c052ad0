#!/usr/bin/env bash
# Before `make e2e-kind`: say plainly what is missing, instead of failing deep inside pytest-kind.
# Exit 0 when Docker answers and kubectl is on PATH; exit 2 with a message otherwise.
set -uo pipefail

fail() {
    printf 'make e2e-kind: %s\n' "$1" >&2
    printf '  Without Docker the same scenarios run on kubesim (make test) or on any cluster you can reach:\n' >&2
    printf '  DEPLOYREQ_KUBECONFIG=path/to/kubeconfig make e2e\n' >&2
    exit 2
}

command -v docker >/dev/null 2>&1 ||
    fail "Docker is not installed. kind runs each Kubernetes node as a Docker container; install Docker Engine and run it again."
if ! info="$(docker info 2>&1)"; then
    fail "the Docker daemon does not answer ($(printf '%s' "$info" | tail -n 1)). Start it (e.g. systemctl start docker) and run it again."
fi
command -v kubectl >/dev/null 2>&1 ||
    fail "kubectl is not on PATH; the tests drive the real kubectl."
if ! command -v kind >/dev/null 2>&1; then
    echo "make e2e-kind: kind is not on PATH; pytest-kind will download kind ${KIND_VERSION:-} from GitHub." >&2
fi
exit 0

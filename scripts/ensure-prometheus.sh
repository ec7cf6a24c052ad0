#!/usr/bin/env bash
# `make test` runs the real Prometheus server and promtool (tests/monitoring, tests/system/test_prometheus_gate.py).
# When they are not on PATH, install Debian's prometheus package: apt-get update once, then apt-get install.
# When that is impossible, say why on stderr and in $1 (the tests skip with that reason), and do not fail make.
set -u
reason_file="${1:-.venv/prometheus-unavailable}"
mkdir -p "$(dirname "$reason_file")"
rm -f "$reason_file"
have() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }
unavailable() {
    echo "ensure-prometheus: $1; the tests that need it are skipped" >&2
    echo "$1" >"$reason_file"
    exit 0
}
have && exit 0
command -v apt-get >/dev/null 2>&1 \
    || unavailable "prometheus/promtool are not on PATH and apt-get is missing: install Prometheus 2.x by hand"
sudo=()
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        unavailable "prometheus/promtool are not on PATH and installing Debian's prometheus package needs root"
    fi
fi
echo "ensure-prometheus: installing Debian's prometheus package (apt-get update, apt-get install -y prometheus)" >&2
log="$(mktemp)"
if ! "${sudo[@]}" apt-get update -q >"$log" 2>&1; then
    unavailable "apt-get update failed: $(tail -n 2 "$log" | tr '\n' ' ')"
fi
# No recommends: the package recommends node-exporter, a second service the tests do not use.
if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends prometheus \
    >"$log" 2>&1; then
    unavailable "apt-get install -y prometheus failed: $(tail -n 2 "$log" | tr '\n' ' ')"
fi
rm -f "$log"
have || unavailable "Debian's prometheus package installed, but prometheus/promtool are still not on PATH"
echo "ensure-prometheus: $(prometheus --version 2>&1 | head -n 1)" >&2

#!/usr/bin/env bash
# checkov over every rendered kustomize directory of manifests/ and over the Dockerfile, offline.
# Exits non-zero when any check fails. Skips are justified in place: `checkov.io/skipN` annotations on the
# objects, `# checkov:skip=` comments in the Dockerfile. `make checkov` creates .venv-checkov first.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CHECKOV="${CHECKOV:-.venv-checkov/bin/checkov}"
KUBECTL="${KUBECTL:-kubectl}"

if [[ ! -x "$CHECKOV" ]]; then
    echo "checkov.sh: $CHECKOV not found; run 'make checkov' (it creates .venv-checkov)" >&2
    exit 2
fi

# No mapping, guideline or policy downloads, no update check: the checks come from the pinned package.
export BC_SKIP_MAPPING=TRUE
export CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE

tmpdir="$(mktemp -d)"
trap 'rm -rf "$tmpdir"' EXIT
mkdir "$tmpdir/rendered"

# Every directory with a kustomization.yaml, except manifests/base and the components: the overlays render them.
rendered=0
while IFS= read -r kustomization; do
    dir="$(dirname "$kustomization")"
    [[ "$dir" == manifests/base || "$dir" == manifests/components/* ]] && continue
    out="$tmpdir/rendered/$(echo "${dir#manifests/}" | tr '/' '_').yaml"
    "$KUBECTL" kustomize "$dir" >"$out"
    rendered=$((rendered + 1))
done < <(find manifests -name kustomization.yaml | sort)

status=0
summary=""
run() {
    local label="$1" log="$tmpdir/$1.log"
    shift
    local rc=0
    "$CHECKOV" --quiet --compact --skip-download "$@" >"$log" 2>&1 || rc=$?
    cat "$log"
    local counts
    counts="$({ grep -Eo 'Passed checks: [0-9]+, Failed checks: [0-9]+, Skipped checks: [0-9]+' "$log" || true; } |
        awk -F'[:,] *' '{p += $2; f += $4; s += $6} END {printf "%d passed, %d failed, %d skipped", p, f, s}')"
    summary+="${summary:+; }$label: $counts"
    if [[ $rc -ne 0 ]]; then
        status=1
    fi
}

run kubernetes --framework kubernetes -d "$tmpdir/rendered"
run dockerfile --framework dockerfile -f Dockerfile

if [[ $status -eq 0 ]]; then
    echo "checkov: OK ($rendered kustomize dirs rendered) - $summary"
else
    echo "checkov: FAILED ($rendered kustomize dirs rendered) - $summary" >&2
fi
exit "$status"

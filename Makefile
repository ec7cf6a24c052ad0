# Every target creates .venv itself on a clean clone.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
SIZE   ?= default
PYTEST_ARGS ?=
# checkov pins many dependencies: its own venv, never .venv. A new version gets a new stamp, hence a reinstall.
CHECKOV_VERSION ?= 3.3.30
CHECKOV_VENV    ?= .venv-checkov
CHECKOV_STAMP   := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

.PHONY: help venv test unit lint crds demo bench bench-kubesim profile chaos e2e-kind e2e clean checkov prometheus

help:
	@echo "make demo           kubesim + operator + two sample requests (one succeeds, one is rolled back)"
	@echo "make test           every test (unit, kubesim with the real kubectl, system, real Prometheus)"
	@echo "make lint           ruff, mypy --strict, import-linter, checkov"
	@echo "make crds           regenerate crds/ from the pydantic model"
	@echo "make bench          operator vs the shell pipeline it replaces (SIZE=tiny|small|default; DEPLOYREQ_CLUSTER=controlplane)"
	@echo "make chaos          kills, API faults, two operators, a stalled holder; invariants checked (SIZE, SEED; DEPLOYREQ_CLUSTER)"
	@echo "make profile        py-spy over the operator during the throughput scenario (NAMESPACES=40)"
	@echo "make bench-kubesim  kubesim's own throughput"
	@echo "make e2e-kind       the system tests on a kind cluster, the operator image built and installed (Docker)"
	@echo "make e2e            the system tests on the cluster of DEPLOYREQ_KUBECONFIG (or KUBECONFIG)"
	@echo "make controlplane   build etcd, kube-apiserver, -controller-manager, -scheduler, kubectl, kwok from Go modules (cached)"
	@echo "make cluster-up     a real control plane on 127.0.0.1 with three kwok nodes (.cluster/kubeconfig, .cluster/env)"
	@echo "make cluster-down   stop every process cluster-up started"
	@echo "make e2e-cluster    the system tests on that control plane (started and stopped around them unless it runs)"
	@echo "make image          the operator image deployreq:0.1.0 with podman (base image made from Debian's packages if unpullable)"
	@echo "make checkov        checkov over the rendered manifests and the Dockerfile (own venv .venv-checkov)"
	@echo "make fidelity       the same API requests to kubesim and to the real control plane, answers compared"
	@echo "make argocd         build Argo CD and kustomize from Go modules (cached), for make e2e-argocd"
	@echo "make e2e-argocd     Argo CD syncing requests from git on the real control plane, the operator beside it"

venv: $(STAMP)
	@echo "deployreq, kubectl-deployreq and kubesim are in $(VENV)/bin: 'source $(VENV)/bin/activate' puts them on PATH"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[sim,dev]'
	touch $(STAMP)

test: $(STAMP) prometheus
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# The real Prometheus server and promtool for the gate and alert-rule tests: Debian's package when missing; when it
# cannot be installed the reason goes to $(VENV)/prometheus-unavailable and those tests skip with it.
prometheus:
	@scripts/ensure-prometheus.sh $(VENV)/prometheus-unavailable

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

lint: $(STAMP) checkov
	$(VENV)/bin/ruff check operator tests scripts
	$(VENV)/bin/ruff format --check operator tests scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

crds: $(STAMP)
	$(PY) -m deployreq.api.crdgen crds

demo: $(STAMP)
	$(PY) scripts/demo.py
	@echo "Run it yourself (README.md): 'source $(VENV)/bin/activate' puts deployreq and kubesim on PATH"

bench: $(STAMP)
	SIZE=$(SIZE) $(PY) scripts/bench.py

chaos: $(STAMP)
	SIZE=$(SIZE) $(PY) scripts/chaos.py

profile: $(STAMP)
	NAMESPACES=$(or $(NAMESPACES),40) $(PY) scripts/profile.py

bench-kubesim: $(STAMP)
	$(PY) -m kubesim.bench

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $(CHECKOV_STAMP)

checkov: $(CHECKOV_STAMP)
	CHECKOV=$(CHECKOV_VENV)/bin/checkov scripts/checkov.sh

# The real-cluster path: the same system tests, on kind (pytest-kind creates the cluster; Docker needed) or on any
# cluster a kubeconfig names. kubesim-only tests skip with their reason.
KIND_VERSION    ?= v0.27.0
KIND_NODE_IMAGE ?= kindest/node:v1.32.2
E2E_PYTEST      := $(PY) -m pytest -q -rs -p no:cacheprovider tests/system

e2e-kind: $(STAMP)
	@KIND_VERSION=$(KIND_VERSION) scripts/e2e-preflight.sh
	DEPLOYREQ_CLUSTER=kind KIND_VERSION=$(KIND_VERSION) $(E2E_PYTEST) --kind-image=$(KIND_NODE_IMAGE) \
		$(if $(shell command -v kind),--kind-bin=$(shell command -v kind)) $(PYTEST_ARGS)

e2e: $(STAMP)
	DEPLOYREQ_CLUSTER=kubeconfig $(E2E_PYTEST) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# The real control plane (docs/controlplane.md): etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
# kubectl built from Go modules (versions in controlplane/versions.env), kwok's fake nodes. Binaries are cached under
# $${XDG_CACHE_HOME:-~/.cache}/deployreq/controlplane; a second build builds nothing.
.PHONY: controlplane controlplane-pin cluster-up cluster-down e2e-cluster image

controlplane:
	$(PYTHON) scripts/cluster_build.py build

controlplane-pin:
	$(PYTHON) scripts/cluster_build.py pin

cluster-up: $(STAMP) controlplane
	$(PY) scripts/cluster.py up

cluster-down: $(STAMP)
	$(PY) scripts/cluster.py down

# Starts the cluster unless it runs, runs tests/system on it, stops it again if it started it (also on failure).
e2e-cluster: $(STAMP) controlplane
	$(PY) scripts/cluster.py e2e -- $(PYTEST_ARGS)

# The operator image from the Dockerfile with Debian's podman (runc, host network; a debootstrap stand-in for a base
# image no registry serves here): apt-get install -y podman buildah debootstrap runc
image:
	$(PYTHON) scripts/cluster_image.py

# The differential suite (issue 16): tests/fidelity/cases sent to a fresh kubesim and to the control plane of
# .cluster/ (started and stopped again around the run unless it is already up); the last line is
# "fidelity: cases=N identical=M differences=D". FIDELITY_ARGS: e.g. --only apply/ --verbose
.PHONY: fidelity
fidelity: $(STAMP) controlplane
	$(PY) scripts/fidelity.py $(FIDELITY_ARGS)

# Argo CD on the real control plane (issue 23, docs/gitops.md): Argo CD and the kustomize its repo server runs, built
# from Go modules like the control plane (versions in controlplane/versions.env, cached under
# $${XDG_CACHE_HOME:-~/.cache}/deployreq/argocd). e2e-argocd starts a control plane of its own (.cluster-argocd),
# Redis, Argo CD's repo server and application controller and the operator, runs tests/argocd, stops them all.
.PHONY: argocd argocd-pin e2e-argocd
argocd:
	$(PYTHON) scripts/cluster_build.py build --set argocd

argocd-pin:
	$(PYTHON) scripts/cluster_build.py pin --set argocd

e2e-argocd: $(STAMP) controlplane argocd
	$(PY) scripts/argocd_e2e.py $(PYTEST_ARGS)

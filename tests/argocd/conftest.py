"""Fixtures for tests/argocd: Argo CD and the operator once per session, a namespace, a git repository and an
Application per test. Run by ``make e2e-argocd``, which builds Argo CD and starts the control plane; elsewhere these
tests skip, saying so."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client

from tests.argocd.gitops import ARGO, App, Repo, application
from tests.argocd.stack import NAMESPACE, ArgoCD, tail
from tests.support import run_kubectl
from tests.system.cluster import Cluster, controlplane_kubeconfig, install_crds, wait_until_served
from tests.system.conftest import _cleanup
from tests.system.harness import Namespace, OperatorProcess, api_client

REQUESTED_BY_POLICY = (
    Path(__file__).resolve().parents[2]
    / "manifests"
    / "components"
    / "requested-by"
    / "requested-by-policy.yaml"
)
BINARY = os.environ.get("DEPLOYREQ_ARGOCD_BIN")
SOURCE = os.environ.get("DEPLOYREQ_ARGOCD_SOURCE")
MISSING = "needs Argo CD and the real control plane: `make e2e-argocd` builds them and runs these tests"
# kwok's pods are Ready after CLUSTER_POD_READY_SECONDS; Argo CD reacts to watch events within a second or two.
SLOW = float(os.environ.get("DEPLOYREQ_E2E_SLOW", "2"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BINARY and SOURCE and controlplane_kubeconfig().is_file():
        return
    for item in items:
        if "tests/argocd/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.skip(reason=MISSING))


@dataclass
class Stack:
    kubeconfig: Path
    argocd: ArgoCD
    operator: OperatorProcess

    def problems(self) -> str:
        dead = [n for n in self.argocd.processes if n not in self.argocd.alive()]
        text = f"dead: {dead}\n" if dead else ""
        for name in ("application-controller", "repo-server"):
            text += f"--- {name} ---\n{tail(self.argocd.log(name), 40)}\n"
        return text + f"--- operator ---\n{self.operator.log()[-4000:]}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    assert BINARY and SOURCE
    kubeconfig = controlplane_kubeconfig()
    install_crds(kubeconfig)
    # Who asked for each request is recorded by the server (docs/approvals.md): Argo CD then asks for what it applies.
    run_kubectl(kubeconfig, "apply", "-f", str(REQUESTED_BY_POLICY)).check_returncode()
    wait_until_served(kubeconfig)  # the policy's matcher knows the kinds
    workdir = tmp_path_factory.mktemp("argocd")
    argocd = ArgoCD(Path(BINARY), Path(SOURCE), kubeconfig, workdir)
    operator = OperatorProcess(kubeconfig, workdir)
    try:
        argocd.start()
        operator.start()
        yield Stack(kubeconfig, argocd, operator)
    finally:
        operator.stop()
        argocd.stop()


@dataclass
class Site:
    """One test's namespace, git repository and Application."""

    ns: Namespace
    repo: Repo
    app: App
    stack: Stack

    def create_application(self) -> None:
        body = application(self.app.name, self.repo, self.ns.name)
        self.app.custom.create_namespaced_custom_object(*ARGO[:2], NAMESPACE, ARGO[2], body)


@pytest.fixture
def site(stack: Stack, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Site]:
    api = api_client(stack.kubeconfig)
    ns = Namespace(api, slow=SLOW)
    repo = Repo(tmp_path / "repo")
    repo.init()
    custom = client.CustomObjectsApi(api)
    here = Site(ns, repo, App(custom, ns.name), stack)
    yield here
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(stack.problems())
    try:  # no resources finalizer on the Application: deleting it leaves the namespace's objects to _cleanup
        custom.delete_namespaced_custom_object(*ARGO[:2], NAMESPACE, ARGO[2], here.app.name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
    # The requests first, while the operator runs (their finalizers), then the namespace: as tests/system does.
    _cleanup(Cluster("controlplane", stack.kubeconfig, tmp_path, slow=SLOW), ns)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per Argo CD scenario and their count, for ``make e2e-argocd``'s output."""
    outcomes = {}
    for key in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(key, []):
            if "tests/argocd/" in report.nodeid and report.when in ("call", "setup"):
                outcomes[report.nodeid.split("::")[-1]] = key
    if all(outcome == "skipped" for outcome in outcomes.values()):
        return  # not run here (the skip says why)
    for name, outcome in outcomes.items():
        terminalreporter.write_line(f"argocd scenario {name}: {outcome}")
    passed = sum(1 for o in outcomes.values() if o == "passed")
    terminalreporter.write_line(f"argocd scenarios: {passed} passed of {len(outcomes)}")

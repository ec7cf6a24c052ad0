"""System-test fixtures: the cluster (a kubesim per module, or the real cluster DEPLOYREQ_CLUSTER names, see
tests/system/cluster.py), one operator process per module, a fresh namespace per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.system.cluster import (
    Cluster,
    ImageMap,
    controlplane_kubeconfig,
    docker_problem,
    install_crds,
    load_public_images,
    selected,
)
from tests.system.harness import (
    GROUP,
    PLURAL,
    VERSION,
    KubesimProcess,
    Namespace,
    OperatorProcess,
    api_client,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
FAKE_IMAGES = (
    "--fail-image",
    "*-crashloop",
    "--unpullable-image",
    "*-nopull",
    "--pod-ready-seconds",
    "0.2",
    "--audit-bodies",
)


CLUSTER = selected()
KUBESIM_ONLY = "uses kubesim itself; runs with DEPLOYREQ_CLUSTER=kubesim (the default)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a real cluster, skip what only kubesim can show, each with its reason."""
    if CLUSTER == "kubesim":
        return
    problem = _real_cluster_problem()
    if problem is not None:
        raise pytest.UsageError(problem)
    for item in items:
        marker = item.get_closest_marker("kubesim_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else KUBESIM_ONLY
            item.add_marker(pytest.mark.skip(reason=f"kubesim only: {reason}"))


def _real_cluster_problem() -> str | None:
    """Why the real cluster DEPLOYREQ_CLUSTER names cannot be used, before any test runs."""
    if CLUSTER == "kind":
        problem = docker_problem()
        if problem is not None:
            return (
                f"DEPLOYREQ_CLUSTER=kind needs Docker, and {problem}. kind runs its nodes as containers: start "
                "Docker, or run on kubesim (the default) or on an existing cluster (DEPLOYREQ_CLUSTER=kubeconfig)."
            )
    if CLUSTER == "controlplane" and not controlplane_kubeconfig().is_file():
        return (
            f"DEPLOYREQ_CLUSTER=controlplane needs the cluster of `make cluster-up` ({controlplane_kubeconfig()} "
            "does not exist): run `make cluster-up`, or `make e2e-cluster`, which starts it and runs these tests"
        )
    if CLUSTER == "kubeconfig":
        named = os.environ.get("DEPLOYREQ_KUBECONFIG") or os.environ.get("KUBECONFIG")
        if not named:
            return (
                "DEPLOYREQ_CLUSTER=kubeconfig needs DEPLOYREQ_KUBECONFIG (or KUBECONFIG) naming the cluster"
            )
        if not Path(named).is_file():
            return f"DEPLOYREQ_CLUSTER=kubeconfig: the kubeconfig {named} does not exist"
    return None


@pytest.fixture(scope="session")
def real_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster | None]:
    """The kind cluster or the kubeconfig's cluster, once per session, with the CRD installed."""
    if CLUSTER == "kubesim":
        yield None
        return
    if CLUSTER == "kind":
        kind = request.getfixturevalue("kind_cluster")
        catalogue = ImageMap(real_cluster=True)
        load_public_images(kind, catalogue.good + catalogue.crash)
        kubeconfig = Path(kind.kubeconfig_path).resolve()
    elif CLUSTER == "controlplane":
        kubeconfig = controlplane_kubeconfig()
    else:
        named = os.environ.get("DEPLOYREQ_KUBECONFIG") or os.environ.get("KUBECONFIG")
        if not named:
            pytest.exit(
                "DEPLOYREQ_CLUSTER=kubeconfig needs DEPLOYREQ_KUBECONFIG (or KUBECONFIG)", returncode=2
            )
        kubeconfig = Path(named).resolve()
    try:
        install_crds(kubeconfig)
    except RuntimeError as problem:
        # No test can run without the CRD: say why once, not in every test's setup.
        pytest.exit(f"{CLUSTER} cluster: {problem}", returncode=1)
    yield Cluster(
        CLUSTER,
        kubeconfig,
        tmp_path_factory.mktemp("cluster"),
        # kwok's fake kubelet answers within CLUSTER_POD_READY_SECONDS; a real kubelet pulls and starts containers.
        slow=float(os.environ.get("DEPLOYREQ_E2E_SLOW", "2" if CLUSTER == "controlplane" else "4")),
    )


@pytest.fixture(scope="module")
def kubesim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubesimProcess]:
    """A kubesim of this module's own; tests that ask for it need kubesim itself and skip on a real cluster."""
    if CLUSTER != "kubesim":
        pytest.skip(f"kubesim only: {KUBESIM_ONLY}")
    sim = KubesimProcess(tmp_path_factory.mktemp("kubesim"), *FAKE_IMAGES)
    sim.start()
    install_crds(sim.kubeconfig)
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Cluster:
    """The cluster this run targets: this module's kubesim, or the session's real cluster."""
    if CLUSTER == "kubesim":
        sim: KubesimProcess = request.getfixturevalue("kubesim")
        return Cluster("kubesim", sim.kubeconfig, sim.workdir)
    real: Cluster = request.getfixturevalue("real_cluster")
    return real


@pytest.fixture(scope="module")
def operator(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[OperatorProcess]:
    """The operator as a local process; a test module may set OPERATOR_ARGS for extra ``deployreq run`` flags."""
    extra = getattr(request.module, "OPERATOR_ARGS", ())
    op = OperatorProcess(cluster.kubeconfig, cluster.workdir, extra_args=extra)
    op.start()
    yield op
    op.stop()


def _namespace(cluster: Cluster) -> Namespace:
    return Namespace(api_client(cluster.kubeconfig), map=cluster.image_map(), slow=cluster.slow)


def _cleanup(cluster: Cluster, space: Namespace) -> None:
    if cluster.real:  # kubesim goes away with its module; a real cluster keeps what it is not told to delete
        # An active request's finalizer (deployreq.dev/rollback-on-delete) holds it until the operator has undone its
        # change, and the module's operator stops after the module's last test. So the requests are deleted first and
        # waited for while the operator runs (not left to the namespace controller, which may be busy): otherwise a
        # request and its namespace stay Terminating for good, and later tests see them (queue -A).
        def requests() -> list[Any]:
            listing = space.custom.list_namespaced_custom_object(GROUP, VERSION, space.name, PLURAL)
            assert isinstance(listing, dict)
            return list(listing["items"])

        space.custom.delete_collection_namespaced_custom_object(GROUP, VERSION, space.name, PLURAL)
        wait_for(
            requests,
            lambda items: not items,
            30 * cluster.slow,
            f"the requests of namespace {space.name} deleted",
        )
        space.core.delete_namespace(space.name)
    space.api.close()


@pytest.fixture
def ns(cluster: Cluster, operator: OperatorProcess, request: pytest.FixtureRequest) -> Iterator[Namespace]:
    space = _namespace(cluster)
    yield space
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(operator.log()[-6000:])
    _cleanup(cluster, space)


@pytest.fixture
def ns2(cluster: Cluster, operator: OperatorProcess) -> Iterator[Namespace]:
    space = _namespace(cluster)
    yield space
    _cleanup(cluster, space)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report

"""System-test fixtures: one kubesim and one operator process per module, a fresh namespace per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.harness import KubesimProcess, Namespace, OperatorProcess, api_client, run_kubectl

ROOT = Path(__file__).resolve().parents[2]
FAKE_IMAGES = (
    "--fail-image",
    "*-crashloop",
    "--unpullable-image",
    "*-nopull",
    "--pod-ready-seconds",
    "0.2",
    "--crashloop-restart-seconds",
    "0.3",
    "--audit-bodies",
)


@pytest.fixture(scope="module")
def kubesim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubesimProcess]:
    sim = KubesimProcess(tmp_path_factory.mktemp("kubesim"), *FAKE_IMAGES)
    sim.start()
    result = run_kubectl(sim.kubeconfig, "apply", "-k", str(ROOT / "crds")) if _has_kubectl() else None
    if result is not None and result.returncode != 0:
        raise RuntimeError(result.stderr)
    if result is None:  # no kubectl: install the CRD with the Python client
        import yaml
        from kubernetes import client

        with api_client(sim.kubeconfig) as api:
            for doc in yaml.safe_load_all(
                (ROOT / "crds" / "deploymentrequests.deployreq.dev.yaml").read_text()
            ):
                client.ApiextensionsV1Api(api).create_custom_resource_definition(doc)
    yield sim
    sim.stop()


def _has_kubectl() -> bool:
    from tests.system.harness import kubectl_binary

    return kubectl_binary() is not None


@pytest.fixture(scope="module")
def operator(kubesim: KubesimProcess, request: pytest.FixtureRequest) -> Iterator[OperatorProcess]:
    """The operator; a test module may set OPERATOR_ARGS for extra ``deployreq run`` flags."""
    extra = getattr(request.module, "OPERATOR_ARGS", ())
    op = OperatorProcess(kubesim.kubeconfig, kubesim.workdir, extra_args=extra)
    op.start()
    yield op
    op.stop()


@pytest.fixture
def ns(
    kubesim: KubesimProcess, operator: OperatorProcess, request: pytest.FixtureRequest
) -> Iterator[Namespace]:
    space = Namespace(api_client(kubesim.kubeconfig))
    yield space
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(operator.log()[-6000:])
    space.api.close()


@pytest.fixture
def ns2(kubesim: KubesimProcess, operator: OperatorProcess) -> Iterator[Namespace]:
    space = Namespace(api_client(kubesim.kubeconfig))
    yield space
    space.api.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report

"""``make fidelity``: the same API requests sent to a fresh kubesim and to the real control plane of ``.cluster/``.

Cases are data (tests/fidelity/cases/*.yaml, see tests/fidelity/README.md). Every case runs in a namespace of its
own, created on both servers before its steps; each step's answers are normalised (uids, timestamps,
resourceVersion values but not their order, generated names, cluster IPs, the run's namespace names) and compared.
The last line is ``fidelity: cases=N identical=M differences=D``; each difference is listed once with its case.

Usage: scripts/fidelity.py [--cases DIR] [--only SUBSTRING] [--verbose] [--min-identical 0.97]
The real control plane is the one of .cluster/kubeconfig; when it does not answer, ``scripts/cluster.py up`` starts
it and ``scripts/cluster.py down`` stops it again at the end (a cluster found running is left running).
"""

from __future__ import annotations

import argparse
import base64
import copy
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_KUBECONFIG = ROOT / ".cluster" / "kubeconfig"
USER_AGENT = "fidelity/1.0 (linux/amd64) deployreq"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TOKEN_VOLUME_RE = re.compile(r"^kube-api-access-[a-z0-9]{5}$")
RECORD_RV_RE = re.compile(r"(ResourceVersion in record \()\d+\)")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
TIME_KEYS = frozenset(
    {
        "creationTimestamp",
        "deletionTimestamp",
        "time",
        "lastTransitionTime",
        "lastUpdateTime",
        "lastProbeTime",
        "startTime",
        "completionTime",
        "lastScheduleTime",
        "lastSuccessfulTime",
        "startedAt",
        "finishedAt",
        "renewTime",
        "acquireTime",
        "expirationTimestamp",
        "lastTimestamp",
        "firstTimestamp",
        "eventTime",
    }
)

Obj = dict[str, Any]
SIMULATED_IMAGES = ("--fail-image", "*crashloop*", "--unpullable-image", "*nopull*")


@dataclass
class Answer:
    code: int
    headers: dict[str, str]
    raw: bytes

    def body(self) -> Any:
        text = self.raw.decode("utf-8", "replace")
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            lines = [ln for ln in text.splitlines() if ln.strip()]
            try:  # a watch stream: one event per line
                return [json.loads(ln) for ln in lines]
            except ValueError:
                return text


class Server:
    """Raw HTTP(S) to one API server, one keep-alive connection."""

    def __init__(self, name: str, kubeconfig: Path) -> None:
        self.name = name
        config = yaml.safe_load(kubeconfig.read_text())
        context_name = config.get("current-context")
        context = next(c for c in config["contexts"] if c["name"] == context_name)["context"]
        cluster = next(c for c in config["clusters"] if c["name"] == context["cluster"])["cluster"]
        user = next(u for u in config["users"] if u["name"] == context["user"])["user"]
        url = urlsplit(cluster["server"])
        self.https = url.scheme == "https"
        self.host, self.port = url.hostname or "127.0.0.1", url.port or (443 if self.https else 80)
        self.token = user.get("token")
        self.context: ssl.SSLContext | None = None
        self.bare_context: ssl.SSLContext | None = None
        """The CA only, no client certificate: for steps that set their own credentials (or none)."""
        if self.https:
            self._tmp = tempfile.TemporaryDirectory(prefix="fidelity-")
            ctx = ssl.create_default_context()
            self.bare_context = ssl.create_default_context()
            if cluster.get("certificate-authority-data"):
                ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
                ctx.load_verify_locations(cadata=ca)
                self.bare_context.load_verify_locations(cadata=ca)
            if user.get("client-certificate-data"):
                cert = Path(self._tmp.name) / "client.crt"
                key = Path(self._tmp.name) / "client.key"
                cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
                key.write_bytes(base64.b64decode(user["client-key-data"]))
                ctx.load_cert_chain(cert, key)
            self.context = ctx
        self._conns: dict[bool, http.client.HTTPConnection] = {}

    def _connection(self, bare: bool) -> http.client.HTTPConnection:
        if bare not in self._conns:
            if self.https:
                context = self.bare_context if bare else self.context
                self._conns[bare] = http.client.HTTPSConnection(
                    self.host, self.port, context=context, timeout=30
                )
            else:
                self._conns[bare] = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return self._conns[bare]

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        hdrs = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v != ""}  # `Authorization: ""`: no credentials (anonymous)
        bare = "Authorization" in (headers or {})  # the step's credentials only: no client certificate either
        for attempt in range(2):
            conn = self._connection(bare)
            try:
                conn.request(method, path, body=body, headers=hdrs)
                response = conn.getresponse()
                raw = response.read()
                return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, raw)
            except (http.client.HTTPException, ConnectionError, OSError):
                self._conns.pop(bare, None)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, obj: Any = None) -> Answer:
        body = json.dumps(obj).encode() if obj is not None else None
        return self.request(method, path, body, {"Content-Type": "application/json"} if body else None)


# --- cases -------------------------------------------------------------------------------------------------


@dataclass
class Case:
    family: str
    name: str
    steps: list[Obj]
    cluster_scoped: bool = False

    @property
    def id(self) -> str:
        return f"{self.family}/{self.name}"


def substitute(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, replacement in variables.items():
            token = "{" + key + "}"
            if value == token and not isinstance(replacement, str):
                return replacement
            if token in value:
                value = value.replace(token, str(replacement))
        return value
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    return value


def load_cases(directory: Path) -> list[Case]:
    cases: list[Case] = []
    for path in sorted(directory.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        family = doc.get("family") or path.stem
        for raw in doc.get("cases") or []:
            variants = raw.get("each") or [{}]
            for variant in variants:
                spec = substitute({k: v for k, v in raw.items() if k != "each"}, variant)
                steps = list(doc.get("setup") or []) + list(spec.get("setup") or []) + list(spec["steps"])
                cases.append(Case(family, str(spec["name"]), substitute(steps, variant)))
    return cases


# --- normalisation -----------------------------------------------------------------------------------------


class Normaliser:
    """Per case and per server: resourceVersions become rv1, rv2... in order of first appearance (so equality
    and order survive), and the run's namespace name becomes {ns}."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names  # real name -> placeholder
        self.rvs: dict[str, str] = {}

    def rv(self, value: str) -> str:
        if value not in self.rvs:
            self.rvs[value] = f"rv{len(self.rvs) + 1}"
        return self.rvs[value]

    def text(self, value: str) -> str:
        for real, placeholder in self.names.items():
            value = value.replace(real, placeholder)
        value = RECORD_RV_RE.sub(r"\1<rv>)", value)
        value = TOKEN_VOLUME_RE.sub("kube-api-access-<random>", value)
        return UUID_RE.sub("<uuid>", value)

    def __call__(self, value: Any, key: str = "", parent: Obj | None = None) -> Any:
        if isinstance(value, dict):
            meta = value.get("metadata")
            if ("items" in value or "rows" in value) and isinstance(meta, dict) and "resourceVersion" in meta:
                # a list's resourceVersion is the store's current one: other writes (controllers, other
                # namespaces) move it on a shared server, so only its presence is compared
                value = {**value, "metadata": {**meta, "resourceVersion": "<list-rv>"}}
            out = {k: self(v, k, value) for k, v in value.items()}
            meta = out.get("metadata")
            if (
                isinstance(meta, dict)
                and isinstance(meta.get("generateName"), str)
                and str(meta.get("name", "")).startswith(meta["generateName"])
            ):
                meta["name"] = meta["generateName"] + "<generated>"
            return out
        if isinstance(value, list):
            items = [self(v, key, parent) for v in value]
            if key == "managedFields":
                # the real server orders entries by operation, then time in seconds: which entries share a
                # second differs from run to run, so the order is compared by operation, manager and subresource
                items.sort(
                    key=lambda e: json.dumps([e.get(k) for k in ("operation", "manager", "subresource")])
                )
            return items
        if isinstance(value, int) and key == "nodePort":
            return "<port>"
        if isinstance(value, str):
            if key == "resourceVersion" and value and value != "<list-rv>":
                return self.rv(value)
            if key == "continue" and value:
                return "<continue>"
            if key in TIME_KEYS and TIME_RE.match(value):
                return "<time>"
            if key == "uid" and value:
                return "<uid>"
            if key in ("clusterIP", "clusterIPs", "podIP", "hostIP") and value not in ("None", ""):
                return "<ip>"
            if key == "token" and len(value) > 20:
                return "<token>"
            return self.text(value)
        return value


def drop(body: Any, dotted: str) -> None:
    parts = dotted.split(".")
    nodes = [body]
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        following: list[Any] = []
        for node in nodes:
            if part == "*" and isinstance(node, list):
                following.extend(node)
            elif isinstance(node, dict) and part in node:
                if last:
                    del node[part]
                else:
                    following.append(node[part])
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                following.append(node[int(part)])
        nodes = following


def drop_index(body: Any, dotted: str) -> None:
    """``rows.*.cells.4``: blank one element of each list (a column whose value is a clock reading)."""
    head, _, index = dotted.rpartition(".")
    for node in nodes_at(body, head):
        if isinstance(node, list) and index.isdigit() and int(index) < len(node):
            node[int(index)] = "<ignored>"


def nodes_at(body: Any, dotted: str) -> list[Any]:
    nodes = [body]
    for part in dotted.split(".") if dotted else []:
        following: list[Any] = []
        for node in nodes:
            if part == "*" and isinstance(node, list):
                following.extend(node)
            elif isinstance(node, dict) and part in node:
                following.append(node[part])
        nodes = following
    return nodes


def keep_items(body: Any, spec: Obj) -> None:
    """``filter: {path: resources, key: name, values: [...]}``: only the named items of a list."""
    for node in nodes_at(body, str(spec.get("parent", ""))):
        if isinstance(node, dict) and isinstance(node.get(spec["path"]), list):
            node[spec["path"]] = [
                item
                for item in node[spec["path"]]
                if isinstance(item, dict) and pick(item, str(spec["key"])) in spec["values"]
            ]


def pick(body: Any, dotted: str) -> Any:
    """The value at a dotted path; ``*`` maps the rest of the path over a list."""
    node = body
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if isinstance(node, list) and part == "*":
            rest = ".".join(parts[i + 1 :])
            return [pick(item, rest) if rest else item for item in node]
        if isinstance(node, dict):
            node = node.get(part, "<absent>")
        elif isinstance(node, list) and part.isdigit():
            node = node[int(part)] if int(part) < len(node) else "<absent>"
        else:
            return "<absent>"
    return node


def key_order(value: Any) -> Any:
    """The keys in order, recursively: what a byte-for-byte comparison would see besides the values."""
    if isinstance(value, dict):
        return [[k, key_order(v)] for k, v in value.items()]
    if isinstance(value, list):
        return [key_order(v) for v in value]
    return None


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{key}" if path else key
            if key not in b:
                out.append(f"{sub}: kubesim={short(a[key])} real=<absent>")
            elif key not in a:
                out.append(f"{sub}: kubesim=<absent> real={short(b[key])}")
            else:
                out += differences(a[key], b[key], sub)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += differences(x, y, f"{path}[{i}]")
        return out
    if a != b:
        return [f"{path or '.'}: kubesim={short(a)} real={short(b)}"]
    return []


def short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- running -----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    diffs: list[str] = field(default_factory=list)
    error: str = ""


def encode_body(step: Obj) -> tuple[bytes | None, dict[str, str]]:
    headers = {str(k): str(v) for k, v in (step.get("headers") or {}).items()}
    body = step.get("body")
    if body is None:
        return None, headers
    content_type = headers.get("Content-Type", step.get("contentType", "application/json"))
    headers["Content-Type"] = content_type
    if isinstance(body, str):
        return body.encode(), headers
    if "yaml" in content_type:
        return yaml.safe_dump(body, sort_keys=False).encode(), headers
    return json.dumps(body).encode(), headers


def run_step(server: Server, step: Obj, variables: dict[str, str]) -> Answer:
    """One request; with ``until: {path, equals}`` it is repeated (every 0.25 s, at most ``timeout`` seconds,
    default 30) until the answer's path has that value: what controllers do, awaited on both servers."""
    step = substitute(step, variables)
    if step.get("sleep"):
        time.sleep(float(step["sleep"]))
    body, headers = encode_body(step)
    until = step.get("until")
    deadline = time.monotonic() + float(step.get("timeout", 30))
    while True:
        answer = server.request(step.get("method", "GET"), step["path"], body, headers)
        if until is None or time.monotonic() > deadline:
            return answer
        got = answer.code if until["path"] == "code" else pick(answer.body(), str(until["path"]))
        if got == until["equals"]:
            return answer
        time.sleep(0.25)


def view(answer: Answer, step: Obj, normalise: Normaliser) -> Obj:
    compare = step.get("compare") or ["code", "body"]
    out: Obj = {}
    if "code" in compare:
        out["code"] = answer.code
    if "contentType" in compare:
        out["contentType"] = answer.headers.get("content-type", "")
    if "warning" in compare:
        out["warning"] = normalise.text(answer.headers.get("warning", ""))
    parsed = answer.body()
    if "body" in compare or "order" in compare:
        body = normalise(parsed)
        for spec in step.get("filter") or []:
            keep_items(body, spec)
        for dotted in step.get("sort") or []:  # lists whose order follows names that legitimately differ
            for node in nodes_at(body, dotted.rpartition(".")[0]):
                key = dotted.rpartition(".")[2]
                if isinstance(node, dict) and isinstance(node.get(key), list):
                    node[key] = sorted(node[key], key=lambda item: json.dumps(item, sort_keys=True))
        for dotted in step.get("ignore") or []:
            if dotted.rpartition(".")[2].isdigit():
                drop_index(body, dotted)
            else:
                drop(body, dotted)
        if step.get("select"):
            body = {dotted: pick(body, dotted) for dotted in step["select"]}
        if "body" in compare:
            out["body"] = body
        if "order" in compare:
            out["order"] = key_order(body)
    if "newline" in compare:
        out["newline"] = answer.raw.endswith(b"\n")
    return out


def save_vars(answer: Answer, step: Obj, variables: dict[str, str]) -> None:
    for name, dotted in (step.get("save") or {}).items():
        value = pick(answer.body(), dotted)
        variables[name] = value if isinstance(value, str) else json.dumps(value)


def run_case(case: Case, servers: list[Server], index: int, run_id: str) -> Outcome:
    outcome = Outcome(case)
    ns = f"fid-{run_id}-{index}"
    names = {ns: "{ns}", f"fid-{run_id}-": "fid-"}
    views: list[list[Obj]] = []
    for server in servers:
        variables: dict[str, str] = {"ns": ns, "run": run_id}
        created = server.json("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
        if created.code != 201:
            outcome.error = f"{server.name}: namespace {ns}: {created.code} {created.raw[:200]!r}"
            return outcome
        normalise = Normaliser(names)
        seen: list[Obj] = []
        for step in case.steps:
            answer = run_step(server, step, variables)
            save_vars(answer, step, variables)
            if step.get("compare") == "none":
                continue
            seen.append(view(answer, substitute(step, variables), normalise))
        views.append(seen)
        server.request("DELETE", f"/api/v1/namespaces/{ns}")
    sim, real = views
    compared = [s for s in case.steps if s.get("compare") != "none"]
    for i, (a, b) in enumerate(zip(sim, real, strict=True)):
        step = compared[i]
        for diff in differences(a, b):
            outcome.diffs.append(f"step {i + 1} {step.get('method', 'GET')} {step['path']}: {diff}")
    return outcome


# --- servers -----------------------------------------------------------------------------------------------


def cluster_answers() -> bool:
    if not CLUSTER_KUBECONFIG.exists():
        return False
    try:
        return Server("real", CLUSTER_KUBECONFIG).request("GET", "/readyz").code == 200
    except (OSError, http.client.HTTPException, StopIteration, KeyError):
        return False


def start_kubesim(workdir: Path) -> tuple[subprocess.Popen[str], Path]:
    kubeconfig = workdir / "kubesim.kubeconfig"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "operator") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        # the images kwok's stages (controlplane/stages) make crash or fail to pull behave the same on kubesim
        [sys.executable, "-m", "kubesim", "--kubeconfig", str(kubeconfig), "--port", "0", *SIMULATED_IMAGES],
        stdout=subprocess.PIPE,
        stderr=(workdir / "kubesim.log").open("w"),
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("kubesim ready "):
        proc.kill()
        raise SystemExit(f"kubesim did not start: {line!r}")
    return proc, kubeconfig


def install(servers: list[Server], directory: Path) -> None:
    """Cluster-scoped fixtures every case may use (CRDs of the fidelity group), on both servers; waits until
    they are Established."""
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            plural = "customresourcedefinitions"
            base = f"/apis/apiextensions.k8s.io/v1/{plural}"
            for server in servers:
                for _ in range(120):  # a CRD an earlier run deleted may still be terminating: bounded wait
                    current = server.json("GET", f"{base}/{doc['metadata']['name']}")
                    if current.code == 404 or not (current.body() or {}).get("metadata", {}).get(
                        "deletionTimestamp"
                    ):
                        break
                    time.sleep(0.5)
                answer = server.json("POST", base, doc)
                if answer.code == 409:
                    current = server.json("GET", f"{base}/{doc['metadata']['name']}").body()
                    doc2 = copy.deepcopy(doc)
                    doc2["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                    answer = server.json("PUT", f"{base}/{doc['metadata']['name']}", doc2)
                if answer.code not in (200, 201):
                    raise SystemExit(
                        f"{server.name}: installing {path.name}: {answer.code} {answer.raw[:300]!r}"
                    )
                for _ in range(100):
                    got = server.json("GET", f"{base}/{doc['metadata']['name']}").body()
                    conditions = (got.get("status") or {}).get("conditions") or []
                    if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                        break
                    time.sleep(0.1)
    time.sleep(1.0)  # the real server's discovery and handlers catch up with a new CRD


def uninstall(server: Server, directory: Path) -> None:
    """Leave the shared control plane as found: the fixtures' CRDs go (their objects with them)."""
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                name = doc["metadata"]["name"]
                server.request("DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=Path, default=ROOT / "tests" / "fidelity" / "cases")
    parser.add_argument("--fixtures", type=Path, default=ROOT / "tests" / "fidelity" / "fixtures")
    parser.add_argument("--only", default="", help="run the cases whose family/name contains this")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every case's result")
    parser.add_argument(
        "--min-identical",
        type=float,
        default=0.97,
        help="exit 1 when fewer cases than this share are identical (default 0.97)",
    )
    args = parser.parse_args()
    cases = [c for c in load_cases(args.cases) if args.only in c.id]
    started_cluster = False
    if not cluster_answers():
        print("fidelity: the control plane of .cluster/ does not answer: make cluster-up", flush=True)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "cluster.py"), "up"], check=True, cwd=ROOT)
        started_cluster = True
    workdir = Path(tempfile.mkdtemp(prefix="fidelity-"))
    proc, kubeconfig = start_kubesim(workdir)
    try:
        servers = [Server("kubesim", kubeconfig), Server("real", CLUSTER_KUBECONFIG)]
        install(servers, args.fixtures)
        run_id = uuid.uuid4().hex[:6]
        outcomes = []
        for index, case in enumerate(cases):
            try:
                outcome = run_case(case, servers, index, run_id)
            except Exception as exc:  # a broken case is a difference, not the end of the run
                outcome = Outcome(case, error=f"{type(exc).__name__}: {exc}")
            outcomes.append(outcome)
            if outcome.error:
                print(f"ERROR {case.id}: {outcome.error}", flush=True)
            elif outcome.diffs:
                print(f"DIFF  {case.id}", flush=True)
                for diff in outcome.diffs[:8]:
                    print(f"      {diff}", flush=True)
                if len(outcome.diffs) > 8:
                    print(f"      ... {len(outcome.diffs) - 8} more", flush=True)
            elif args.verbose:
                print(f"same  {case.id}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        uninstall(Server("real", CLUSTER_KUBECONFIG), args.fixtures)
        if started_cluster:
            subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "cluster.py"), "down"], check=False, cwd=ROOT
            )
    identical = sum(1 for o in outcomes if not o.diffs and not o.error)
    print(f"fidelity: cases={len(outcomes)} identical={identical} differences={len(outcomes) - identical}")
    return 0 if outcomes and identical >= args.min_identical * len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())

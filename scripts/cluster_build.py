"""Build the real control plane's binaries from Go modules, into a cache outside the work tree.

``controlplane/versions.env`` pins Kubernetes, etcd and kwok: the one place a version is written. Each upstream gets
a Go module of its own under ``controlplane/`` (``go.mod`` and ``go.sum`` only: ``tool`` directives, no Go code), so
every binary is built with the dependency versions its own release was tested with:

- ``controlplane/kubernetes``: ``kube-apiserver``, ``kube-controller-manager``, ``kube-scheduler``, ``kubectl`` from
  ``k8s.io/kubernetes``. Its ``go.mod`` requires the staging modules at ``v0.0.0`` and replaces them with
  ``./staging/...``; ours replaces each with its published release (``v0.<minor>.<patch>``), the list read from the
  release's own ``go.mod`` (kubernetes/kubernetes#79384).
- ``controlplane/etcd``: ``etcd`` from ``go.etcd.io/etcd/server/v3`` (its main package is the module root).
- ``controlplane/kwok``: ``kwok`` from ``sigs.k8s.io/kwok``.

A second set, ``argocd`` (``make argocd``, for ``make e2e-argocd``), is built the same way into a cache of its own:

- ``controlplane/argocd``: ``argocd`` (one binary for every component) from ``github.com/argoproj/argo-cd/v3``. Its
  ``go.mod`` replaces the Kubernetes staging modules and a few others; ours copies that replace block from the
  release's own ``go.mod`` (Argo CD's ``docs/user-guide/import.md``), and refuses a release that replaces a module
  with a local folder (v3.3 to v3.6 do so for gitops-engine; v3.2 requires a published gitops-engine).
- ``controlplane/kustomize``: ``kustomize`` from ``sigs.k8s.io/kustomize/kustomize/v5`` (the repo server runs it).

``pin`` rewrites those modules from ``versions.env`` (``make controlplane-pin``); ``build`` (``make controlplane``)
refuses to build when a module disagrees with ``versions.env``, and otherwise builds into
``${XDG_CACHE_HOME:-~/.cache}/deployreq/controlplane/<key>/bin``, where the key hashes the versions, the modules and
the Go version: a second build of the same set builds nothing. Builds run with ``GOTOOLCHAIN=local``, ``CGO_ENABLED=0``
and under ``nice -n 19`` (test machines have two cores, shared).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTROLPLANE = ROOT / "controlplane"
VERSIONS_FILE = CONTROLPLANE / "versions.env"
BUILD_FORMAT = "1"  # bump when the flags below change, so existing caches are not taken for the new build


@dataclass(frozen=True)
class Binary:
    name: str
    package: str


@dataclass(frozen=True)
class Module:
    folder: str
    path: str
    version_key: str
    binaries: tuple[Binary, ...]
    copy_replaces: bool = False  # take the release's own replace block (Argo CD's way for consumers)


MODULES = (
    Module(
        "kubernetes",
        "k8s.io/kubernetes",
        "KUBERNETES_VERSION",
        tuple(
            Binary(name, f"k8s.io/kubernetes/cmd/{name}")
            for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
        ),
    ),
    Module(
        "etcd", "go.etcd.io/etcd/server/v3", "ETCD_VERSION", (Binary("etcd", "go.etcd.io/etcd/server/v3"),)
    ),
    Module("kwok", "sigs.k8s.io/kwok", "KWOK_VERSION", (Binary("kwok", "sigs.k8s.io/kwok/cmd/kwok"),)),
)
ARGOCD_MODULES = (
    Module(
        "argocd",
        "github.com/argoproj/argo-cd/v3",
        "ARGOCD_VERSION",
        (Binary("argocd", "github.com/argoproj/argo-cd/v3/cmd"),),
        copy_replaces=True,
    ),
    Module(
        "kustomize",
        "sigs.k8s.io/kustomize/kustomize/v5",
        "KUSTOMIZE_VERSION",
        (Binary("kustomize", "sigs.k8s.io/kustomize/kustomize/v5"),),
    ),
)
SETS = {"controlplane": MODULES, "argocd": ARGOCD_MODULES}
BINARIES = tuple(b.name for m in MODULES for b in m.binaries)


def versions() -> dict[str, str]:
    pinned: dict[str, str] = {}
    for raw in VERSIONS_FILE.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pinned[key.strip()] = value.strip()
    return pinned


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=readonly -buildvcs=false")
    return env


def go(*args: str, cwd: Path, env: dict[str, str] | None = None, capture: bool = False) -> str:
    command = ["nice", "-n", "19", "go", *args]
    result = subprocess.run(
        command, cwd=cwd, env=env or go_env(), check=False, text=True, capture_output=capture
    )
    if result.returncode != 0:
        detail = f": {result.stderr.strip()}" if capture else ""
        raise SystemExit(f"`go {' '.join(args)}` in {cwd} failed ({result.returncode}){detail}")
    return result.stdout if capture else ""


def download(path: str, version: str) -> dict[str, str]:
    """``go mod download -json`` of one module version: where its go.mod, .info and source are."""
    info: dict[str, str] = json.loads(
        go("mod", "download", "-json", f"{path}@{version}", cwd=CONTROLPLANE, capture=True)
    )
    return info


def staging_replacements(kubernetes_version: str) -> list[str]:
    """``k8s.io/X=k8s.io/X@v0.<minor>.<patch>`` for every staging module the release's go.mod replaces locally."""
    release_mod = Path(download("k8s.io/kubernetes", kubernetes_version)["GoMod"]).read_text()
    staging = re.findall(r"^\s*(k8s\.io/[\w.-]+)\s*=>\s*\./staging/", release_mod, flags=re.MULTILINE)
    if not staging:
        raise SystemExit(f"k8s.io/kubernetes@{kubernetes_version}: no staging replace lines in its go.mod")
    major_minor_patch = kubernetes_version.removeprefix("v").split(".")
    published = f"v0.{major_minor_patch[1]}.{major_minor_patch[2]}"
    return [f"{name}={name}@{published}" for name in staging]


def release_replacements(path: str, version: str) -> list[str]:
    """``old=new@version`` for every replace line of the release's own go.mod; a local folder is refused."""
    edit = json.loads(
        go("mod", "edit", "-json", download(path, version)["GoMod"], cwd=CONTROLPLANE, capture=True)
    )
    lines = []
    for replace in edit.get("Replace") or []:
        old, new = replace["Old"], replace["New"]
        if not new.get("Version"):
            raise SystemExit(
                f"{path}@{version} replaces {old['Path']} with the folder {new['Path']}, which its module does not "
                "ship: pick a release whose go.mod requires published modules only"
            )
        source = old["Path"] + (f"@{old['Version']}" if old.get("Version") else "")
        lines.append(f"{source}={new['Path']}@{new['Version']}")
    return lines


def go_line(path: str, version: str) -> str:
    upstream = Path(download(path, version)["GoMod"]).read_text()
    found = re.search(r"^go (\S+)$", upstream, flags=re.MULTILINE)
    return found.group(1) if found else "1.26.0"


def pin(modules: tuple[Module, ...] = MODULES) -> None:
    """Rewrite every module of the set under controlplane/ from versions.env."""
    pinned = versions()
    env = go_env() | {"GOFLAGS": "-mod=mod"}
    for module in modules:
        version = pinned[module.version_key]
        folder = CONTROLPLANE / module.folder
        folder.mkdir(exist_ok=True)
        for name in ("go.mod", "go.sum"):
            (folder / name).unlink(missing_ok=True)
        (folder / "go.mod").write_text(
            f"module deployreq.dev/controlplane/{module.folder}\n\ngo {go_line(module.path, version)}\n"
        )
        edits = [f"-require={module.path}@{version}"]
        edits += [f"-tool={binary.package}" for binary in module.binaries]
        if module.path == "k8s.io/kubernetes":
            edits += [f"-replace={line}" for line in staging_replacements(version)]
        if module.copy_replaces:
            edits += [f"-replace={line}" for line in release_replacements(module.path, version)]
        go("mod", "edit", *edits, cwd=folder, env=env)
        go("mod", "tidy", cwd=folder, env=env)
        print(f"pinned {module.path} {version} in controlplane/{module.folder}")


def check_pins(modules: tuple[Module, ...] = MODULES) -> dict[str, str]:
    """The versions, after checking every module requires exactly what versions.env says."""
    pinned = versions()
    for module in modules:
        mod = (CONTROLPLANE / module.folder / "go.mod").read_text()
        want = pinned[module.version_key]
        found = re.search(
            rf"^\s*(?:require\s+)?{re.escape(module.path)} (\S+)(?: // indirect)?$", mod, flags=re.MULTILINE
        )
        if found is None or found.group(1) != want:
            have = found.group(1) if found else "nothing"
            raise SystemExit(
                f"controlplane/{module.folder}/go.mod requires {module.path} {have}, versions.env says {want}: "
                "run `make controlplane-pin` (or `make argocd-pin`)"
            )
    return pinned


def cache_root(name: str = "controlplane") -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    variable = f"DEPLOYREQ_{name.upper()}_CACHE"
    return Path(os.environ.get(variable, Path(base) / "deployreq" / name))


def build_key(modules: tuple[Module, ...] = MODULES) -> str:
    digest = hashlib.sha256(BUILD_FORMAT.encode())
    pinned = versions()
    for module in modules:
        digest.update(f"{module.version_key}={pinned[module.version_key]}\n".encode())
    for module in modules:
        for name in ("go.mod", "go.sum"):
            digest.update((CONTROLPLANE / module.folder / name).read_bytes())
    goversion = subprocess.run(
        ["go", "env", "GOVERSION"], env=go_env(), capture_output=True, text=True, check=True
    ).stdout.strip()
    digest.update(goversion.encode())
    return digest.hexdigest()[:16]


def bin_dir(name: str = "controlplane") -> Path:
    modules = SETS[name]
    check_pins(modules)
    return cache_root(name) / build_key(modules) / "bin"


def ldflags(module: Module, version: str) -> str:
    flags = ["-s", "-w"]
    if module.path == "k8s.io/kubernetes":
        info = json.loads(Path(download(module.path, version)["Info"]).read_text())
        major, minor = version.removeprefix("v").split(".")[:2]
        values = {"gitVersion": version, "gitMajor": major, "gitMinor": minor, "buildDate": info["Time"]}
        for package in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version"):
            flags += [f"-X {package}.{key}={value}" for key, value in values.items()]
    elif module.path == "github.com/argoproj/argo-cd/v3":
        info = json.loads(Path(download(module.path, version)["Info"]).read_text())
        values = {"version": version.removeprefix("v"), "buildDate": info["Time"], "gitTreeState": "clean"}
        flags += [f"-X github.com/argoproj/argo-cd/v3/common.{key}={value}" for key, value in values.items()]
    elif module.path == "sigs.k8s.io/kustomize/kustomize/v5":
        flags.append(f"-X sigs.k8s.io/kustomize/api/provenance.version=kustomize/{version}")
    return " ".join(flags)


def build(name: str = "controlplane") -> Path:
    modules = SETS[name]
    names = tuple(b.name for m in modules for b in m.binaries)
    pinned = check_pins(modules)
    target = bin_dir(name)
    stamp = target.parent / "stamp.json"
    if stamp.is_file() and all((target / binary).is_file() for binary in names):
        print(f"{name} binaries up to date: {target}")
        return target
    partial = target.parent / "bin.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    started = time.monotonic()
    timings: dict[str, float] = {}
    for module in modules:
        version = pinned[module.version_key]
        folder = CONTROLPLANE / module.folder
        print(
            f"building {', '.join(b.name for b in module.binaries)} from {module.path} {version}", flush=True
        )
        begin = time.monotonic()
        for binary in module.binaries:
            go(
                "build",
                "-trimpath",
                f"-ldflags={ldflags(module, version)}",
                "-o",
                str(partial / binary.name),
                binary.package,
                cwd=folder,
            )
        timings[module.folder] = round(time.monotonic() - begin, 1)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    stamp.write_text(
        json.dumps({"versions": pinned, "seconds": timings, "built": time.time()}, indent=2) + "\n"
    )
    print(f"built {', '.join(names)} in {time.monotonic() - started:.0f} s into {target}")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("action", choices=("pin", "build", "bin-dir"))
    parser.add_argument(
        "--set", choices=tuple(SETS), default="controlplane", help="which binaries (default: %(default)s)"
    )
    args = parser.parse_args()
    if args.action == "pin":
        pin(SETS[args.set])
    elif args.action == "build":
        build(args.set)
    else:
        print(bin_dir(args.set))


if __name__ == "__main__":
    main()

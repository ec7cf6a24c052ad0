"""``make image``: the operator image built from the ``Dockerfile`` with Debian's podman, on a machine without Docker.

Containers on these machines run with the ``runc`` runtime, host networking and lowered ``nofile``/``nproc``
limits (the sandbox may not raise them), so every podman call here passes those. No registry answers here: when a
base image the ``Dockerfile`` names (``FROM``) is neither in podman's storage nor pullable, a stand-in is made under
the same name from Debian's packages: ``debootstrap --variant=minbase`` of the machine's release with python3, pip and
venv, ``python`` pointing at python3, pip allowed to install into the system Python (as in the official image), and
the machine's CA bundle (the network's TLS goes through it), imported with ``podman import``. The stand-in is a
stand-in: same Python minor as Debian's (3.11 on bookworm), not the official image's patch release.

Missing tools are installed from Debian's packages when run as root (``apt-get install -y podman buildah debootstrap
runc``); exit 2 says they cannot be. Then ``podman build`` tags the image ``deployreq:0.1.0`` (the tag ``manifests/base/deployment.yaml`` names) and runs
it once as the manifests run it (read-only root, all capabilities dropped, non-root) to show ``deployreq run --help``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "deployreq:0.1.0"
LIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
PODMAN = ("podman", "--runtime", "runc")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PULL_TIMEOUT = 60
TOOLS = ("podman", "buildah", "debootstrap", "runc")


def podman(*args: str, timeout: float = 1800, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*PODMAN, *args], text=True, capture_output=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise SystemExit(
            f"podman {' '.join(args[:3])} failed ({result.returncode}):\n{result.stderr.strip()}"
        )
    return result


def base_images(dockerfile: Path) -> list[str]:
    """The images the Dockerfile's FROM lines name (stage names excluded)."""
    stages: set[str] = set()
    images: list[str] = []
    for line in dockerfile.read_text().splitlines():
        found = re.match(r"\s*FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, flags=re.IGNORECASE)
        if found is None:
            continue
        image, stage = found.group(1), found.group(2)
        if image not in stages and image not in images:
            images.append(image)
        if stage:
            stages.add(stage)
    return images


def qualified(image: str) -> str:
    """``python:3.11-slim`` as podman stores it: ``docker.io/library/python:3.11-slim``."""
    first = image.split("/", 1)[0]
    if "/" not in image:
        return f"docker.io/library/{image}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{image}"
    return image


def debian_release() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("cannot tell the Debian release from /etc/os-release")


def debian_mirror() -> str:
    for source in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if source.is_file():
            found = re.search(r"(?:URIs:|deb)\s+(https?://\S+/debian)\b", source.read_text())
            if found:
                return found.group(1)
    return "http://deb.debian.org/debian"


def make_stand_in(image: str) -> None:
    if shutil.which("debootstrap") is None:
        raise SystemExit(
            f"{image} cannot be pulled and debootstrap is missing: apt-get install -y debootstrap"
        )
    release = debian_release()
    print(f"{image}: not pullable here; making a stand-in from Debian {release} (debootstrap)", flush=True)
    with tempfile.TemporaryDirectory(prefix="deployreq-base-") as work:
        rootfs = Path(work) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates",
                release,
                str(rootfs),
                debian_mirror(),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=1800,
        )
        for managed in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
            managed.unlink()  # the official image's Python takes pip installs; so does the stand-in's
        shutil.copy(CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True)
        archive = Path(work) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], check=True)
        podman(
            "import",
            "--change",
            "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
            "--change",
            'CMD ["python3"]',
            str(archive),
            qualified(image),
        )


def ensure_base(image: str) -> None:
    if podman("image", "exists", qualified(image), check=False).returncode == 0:
        return
    try:
        pulled = (
            podman("pull", "--quiet", qualified(image), timeout=PULL_TIMEOUT, check=False).returncode == 0
        )
    except subprocess.TimeoutExpired:
        pulled = False
    if not pulled:
        make_stand_in(image)


def ensure_tools() -> str | None:
    """Install Debian's podman, buildah, debootstrap and runc when missing (as root); why not, or None."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return None
    command = f"apt-get install -y {' '.join(missing)}"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{', '.join(missing)} missing and not installable here (needs root and apt-get): {command}"
    print(f"installing {', '.join(missing)} from Debian's packages", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *missing]):
        result = subprocess.run(step, env=env, capture_output=True, text=True, timeout=1200, check=False)
        if result.returncode != 0:
            return f"`{' '.join(step)}` failed: {result.stderr.strip()[-300:]}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description="build the operator image with podman")
    parser.add_argument("--tag", default=IMAGE)
    tag = parser.parse_args().tag
    problem = ensure_tools()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2  # cannot build here at all (a build that fails says so with 1)
    began = time.monotonic()
    for image in base_images(ROOT / "Dockerfile"):
        ensure_base(image)
    podman("build", "--network", "host", *LIMITS, "--tag", tag, str(ROOT), timeout=3600)
    check = podman(
        "run", "--rm", "--network", "host", *LIMITS, "--read-only", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", tag, "--help",
    )  # fmt: skip
    if "usage" not in check.stdout.lower():
        print(f"the image does not answer --help:\n{check.stdout}\n{check.stderr}", file=sys.stderr)
        return 1
    user = podman("image", "inspect", "--format", "{{.Config.User}}", tag).stdout.strip()
    print(
        f"built {tag} in {time.monotonic() - began:.0f} s (user {user}); `deployreq run --help` answers in it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

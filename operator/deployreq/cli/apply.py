"""``deployreq apply -f FILE``: create or update DeploymentRequests from YAML, optionally following them to the end."""

from __future__ import annotations

import argparse
import sys

import yaml

from deployreq import errors
from deployreq.api import names
from deployreq.cli.common import (
    ClientCommand,
    Obj,
    Waiting,
    add_wait_flags,
    fail,
    generation_of,
    say,
    wait_all,
)
from deployreq.cli.follow import Target
from deployreq.cluster import kube


async def apply_objects(client: kube.Kube, docs: list[Obj], namespace: str) -> list[Target]:
    """Create or update each request; the targets to wait for (the generation each must answer)."""
    targets = []
    for doc in docs:
        if doc.get("kind") != names.KIND or not str(doc.get("apiVersion", "")).startswith(names.GROUP):
            raise ValueError(
                f"only DeploymentRequests ({names.API_VERSION}) can be applied, not {doc.get('kind')!r}"
            )
        meta = doc.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            raise ValueError("a DeploymentRequest needs metadata.name")
        ns = meta.get("namespace") or namespace
        meta["namespace"] = ns
        result = await _create_or_update(client, ns, name, doc)
        targets.append(Target(ns, name, generation_of(result)))
    return targets


async def _create_or_update(client: kube.Kube, ns: str, name: str, doc: Obj) -> Obj:
    existing = await client.get_or_none(kube.request_path(ns, name))
    if existing is None:
        result = await client.create(kube.request_path(ns), doc)
        say(f"deploymentrequest.{names.GROUP}/{name} created")
        return result
    meta = doc["metadata"]
    patch = {
        "metadata": {k: meta[k] for k in ("labels", "annotations") if k in meta},
        "spec": doc.get("spec"),
    }
    result = await client.patch(kube.request_path(ns, name), patch)
    changed = result["metadata"].get("generation") != existing["metadata"].get("generation")
    say(f"deploymentrequest.{names.GROUP}/{name} {'configured' if changed else 'unchanged'}")
    return result


def load_documents(path: str) -> list[Obj]:
    text = sys.stdin.read() if path == "-" else open(path).read()  # noqa: SIM115
    docs = [d for d in yaml.safe_load_all(text) if d]
    out: list[Obj] = []
    for doc in docs:
        if doc.get("kind") == "List":
            out.extend(doc.get("items") or [])
        else:
            out.append(doc)
    return out


async def cmd_apply(client: kube.Kube, namespace: str, path: str, waiting: Waiting) -> int:
    try:
        docs = load_documents(path)
        targets = await apply_objects(client, docs, namespace)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return fail(str(exc))
    except errors.ApiError as exc:
        return fail(exc.message)
    if not targets:
        return fail(f"no DeploymentRequest in {path}")
    return await wait_all(client, targets, waiting) if waiting.wait else 0


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--filename", required=True, metavar="FILE")
    add_wait_flags(p)


async def _run(client: kube.Kube, namespace: str, args: argparse.Namespace) -> int:
    return await cmd_apply(client, namespace, args.filename, Waiting.from_args(args))


COMMAND = ClientCommand(
    "apply", "create or update DeploymentRequests from a file (or - for stdin)", _configure, _run
)

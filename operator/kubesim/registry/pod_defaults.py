"""The pod spec's defaults (``SetDefaults_PodSpec``, ``SetDefaults_Container``), for pods and every pod template."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def default_pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            image = str(container.get("image", ""))
            tag = image.rsplit("/", 1)[-1]
            untagged_or_latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
            container.setdefault("imagePullPolicy", "Always" if untagged_or_latest else "IfNotPresent")
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})
            for port in container.get("ports") or []:
                port.setdefault("protocol", "TCP")


def default_template(spec: Obj) -> None:
    """A workload's ``spec.template``: metadata present, the pod spec defaulted."""
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {})
    default_pod_spec(template.setdefault("spec", {}))

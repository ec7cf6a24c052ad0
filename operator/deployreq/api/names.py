"""The API's names: the group, version and resource of a DeploymentRequest, and the annotations and finalizer the
operator writes. Every other module takes them from here."""

from __future__ import annotations

GROUP = "deployreq.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "DeploymentRequest"
PLURAL = "deploymentrequests"
POLICY_KIND = "DeployPolicy"
POLICY_PLURAL = "deploypolicies"
"""The cluster-scoped DeployPolicy (issue 19, docs/policy.md)."""

FINALIZER = f"{GROUP}/rollback-on-delete"
"""Held while a run may still have to undo its change, so deleting the request rolls the Deployment back first."""
RUN_ANNOTATION = f"{GROUP}/run"
"""On the Deployment: the run that patched it (a patch already there is recognised after a restart)."""
RERUN_ANNOTATION = f"{GROUP}/rerun"
"""On the request: changing it runs a finished request again (``deployreq rerun``)."""
REQUESTED_BY_ANNOTATION = f"{GROUP}/requested-by"
"""On the request: who asked for its spec, as the API server authenticated them (set by the MutatingAdmissionPolicy
deployreq-requested-by of manifests/base; nobody can write it themselves). Their own approval does not count."""
KEEP_ANNOTATION = f"{GROUP}/keep"
"""On the request: never delete it when pruning finished requests (any value)."""
ROLLBACK_OF_LABEL = f"{GROUP}/rollback-of"
"""On a request made by ``deployreq rollback``: the workload it rolls back (a manual intervention in the report)."""

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
"""The Deployment controller's revision of a Deployment and of each of its ReplicaSets."""

"""The CronJob's defaults and validation (``SetDefaults_CronJob``, ``ValidateCronJob``): the schedule, the time
zone, the job template's restartPolicy."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kubesim.api import cron, errors
from kubesim.registry.pod_defaults import default_template
from kubesim.storage.admission import Operation

Obj = dict[str, Any]


def default_cronjob(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = spec.setdefault("jobTemplate", {})
    job_template.setdefault("metadata", {})
    default_template(job_template.setdefault("spec", {}))


def validate(op: Operation) -> None:
    spec = op.obj.get("spec") or {}
    causes: list[errors.Cause] = []
    schedule = spec.get("schedule")
    if not schedule:
        causes.append(errors.Cause("spec.schedule", "Required value", "FieldValueRequired"))
    else:
        why = cron.problem(str(schedule))
        if why is not None:
            causes.append(errors.Cause("spec.schedule", f"Invalid value: {json.dumps(schedule)}: {why}"))
    time_zone = spec.get("timeZone")
    if time_zone is not None:
        try:
            ZoneInfo(str(time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            message = f"Invalid value: {json.dumps(time_zone)}: unknown time zone {time_zone}"
            causes.append(errors.Cause("spec.timeZone", message))
    pod_spec = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    if pod_spec.get("restartPolicy") not in ("OnFailure", "Never"):
        message = 'Required value: valid values: "OnFailure", "Never"'
        causes.append(
            errors.Cause("spec.jobTemplate.spec.template.spec.restartPolicy", message, "FieldValueRequired")
        )
    if causes:
        raise errors.invalid(op.rt.kind, op.rt.group, (op.obj.get("metadata") or {}).get("name", ""), causes)

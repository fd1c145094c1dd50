"""Pure judgements of what AWS returned: a bucket policy read for what the CUR delivery service may do, a
report's last delivery status, and AWS's timestamps made readable. No AWS calls; unit-tested on their own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from bot.aws import requirements as need
from bot.engine.content import Rich, Status, rich


def delivery_time(status: dict[str, Any]) -> datetime | None:
    try:
        return datetime.strptime(str(status.get("lastDelivery")), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def readable_time(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("on %Y-%m-%d at %H:%M UTC") if moment else "at an unknown time"


def delivery_status(report: dict[str, Any]) -> tuple[Status, Rich, Rich]:
    status = report.get("ReportStatus") or {}
    last = status.get("lastStatus")
    at = readable_time(delivery_time(status))
    if last == "SUCCESS":
        return Status.PASS, rich("Delivered ", at, "."), ()
    if last == "ERROR_PERMISSIONS":
        return (
            Status.FAIL,
            rich("AWS could not write the report ", at, " (ERROR_PERMISSIONS)."),
            rich("Add the statement shown for the bucket policy check; AWS retries at the next delivery."),
        )
    if last == "ERROR_NO_BUCKET":
        return (
            Status.FAIL,
            rich("AWS found no bucket to write to ", at, " (ERROR_NO_BUCKET)."),
            rich("The report's bucket was deleted or renamed: point the report at this bucket again."),
        )
    hours = int(need.FIRST_DELIVERY_WITHIN.total_seconds() // 3600)
    return Status.PENDING, rich(f"No delivery yet: AWS delivers a new report within {hours} hours of its creation."), ()


def allows_service(policy_text: str, action: str, resource: str) -> bool:
    """Whether a bucket policy lets the CUR delivery service do `action` on `resource` (Allow, and no Deny)."""
    try:
        statements = json.loads(policy_text).get("Statement", [])
    except (ValueError, AttributeError):
        return False
    if isinstance(statements, dict):
        statements = [statements]

    def matches(statement: dict[str, Any]) -> bool:
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else [principal]
        services = [services] if isinstance(services, str) else services
        if need.CUR_SERVICE_PRINCIPAL not in services and "*" not in services:
            return False
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        return any(fnmatchcase(action.lower(), a.lower()) for a in actions) and any(fnmatchcase(resource, r) for r in resources)

    relevant = [s for s in statements if isinstance(s, dict) and matches(s)]
    return any(s.get("Effect") == "Allow" for s in relevant) and not any(s.get("Effect") == "Deny" for s in relevant)



"""What Eco requires of a customer's AWS setup, in one declarative place.

The verifier asks AWS what is there; this module says what *should* be there and how to fix it when it
is not: the settings of the Cost and Usage Report, the bucket policy AWS billing needs to deliver it, and
where its files land. Changing a requirement means changing a line here, not hunting through checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

ECO_PARTITION = "aws"
ECO_REGION = "us-east-1"  # the report, its bucket and the CUR API all live here
CUR_SERVICE_PRINCIPAL = "billingreports.amazonaws.com"
FIRST_DELIVERY_WITHIN = timedelta(hours=24)  # AWS's promise for a new report's first delivery

# Where to change a legacy report (AWS moved it under Data Exports; the old page redirects there).
REPORT_CONSOLE = "Billing and Cost Management console → Data Exports → the legacy CUR export"
NEW_REPORT = (
    "Create a new legacy CUR (Billing and Cost Management console → Data Exports → Create → "
    "Legacy CUR export) with hourly granularity, resource IDs, data refresh and Athena integration, "
    "delivered to this bucket, then reply again"
)

Report = dict[str, Any]  # a ReportDefinition as `cur:DescribeReportDefinitions` returns it


@dataclass(frozen=True)
class ReportRequirement:
    """One setting Eco needs in the report: its check name, the test, what was found, and the fix."""

    name: str
    satisfied: Callable[[Report], bool]
    found: Callable[[Report], str]
    fix: str  # {report} is the report's name


def _listed(field: str) -> Callable[[Report], str]:
    return lambda report: ", ".join(report.get(field) or []) or "none"


REPORT_REQUIREMENTS: tuple[ReportRequirement, ...] = (
    ReportRequirement(
        "Report is hourly",
        lambda r: r.get("TimeUnit") == "HOURLY",
        lambda r: f"time granularity {str(r.get('TimeUnit', 'unknown')).lower()}",
        f"{REPORT_CONSOLE} '{{report}}' → Edit → Time granularity: Hourly.",
    ),
    ReportRequirement(
        "Report includes resource IDs",
        lambda r: "RESOURCES" in (r.get("AdditionalSchemaElements") or []),
        lambda r: f"additional schema elements: {_listed('AdditionalSchemaElements')(r)}",
        f"{REPORT_CONSOLE} '{{report}}' → Edit → tick Include resource IDs.",
    ),
    ReportRequirement(
        "Report refreshes closed months (data refresh)",
        lambda r: bool(r.get("RefreshClosedReports")),
        lambda r: "data refresh on" if r.get("RefreshClosedReports") else "data refresh off",
        f"{REPORT_CONSOLE} '{{report}}' → Edit → tick Refresh automatically.",
    ),
    ReportRequirement(
        "Report has Athena integration",
        lambda r: "ATHENA" in (r.get("AdditionalArtifacts") or []),
        lambda r: f"integrations: {_listed('AdditionalArtifacts')(r)}",
        f"{REPORT_CONSOLE} '{{report}}' → Edit → Report data integration: Amazon Athena.",
    ),
    ReportRequirement(
        "Report is written as Parquet",
        lambda r: r.get("Format") == "Parquet",
        lambda r: f"format {r.get('Format', 'unknown')}",
        "The format cannot be changed on an existing report: " + NEW_REPORT + ".",
    ),
    ReportRequirement(
        "Report overwrites the previous version",
        lambda r: r.get("ReportVersioning") == "OVERWRITE_REPORT",
        lambda r: f"versioning {r.get('ReportVersioning', 'unknown')}",
        "Versioning cannot be changed on an existing report: " + NEW_REPORT + ", choosing Overwrite existing report.",
    ),
    ReportRequirement(
        "Report is delivered in us-east-1",
        lambda r: r.get("S3Region") == ECO_REGION,
        lambda r: f"delivered to {r.get('S3Region', 'an unknown region')}",
        "Eco reads reports from us-east-1: " + NEW_REPORT + " (in a bucket in us-east-1).",
    ),
)


def report_prefix(report: Report) -> str:
    """The key prefix under which AWS writes this report's files: `<S3Prefix>/<ReportName>/`."""
    prefix = str(report.get("S3Prefix") or "").strip("/")
    name = str(report["ReportName"])
    return f"{prefix}/{name}/" if prefix else f"{name}/"


def delivery_statement(bucket: str, account: str) -> dict[str, Any]:
    """The bucket policy statement AWS documents for CUR delivery, filled in for this bucket and account."""
    return {
        "Sid": "AllowCostAndUsageReportDelivery",
        "Effect": "Allow",
        "Principal": {"Service": CUR_SERVICE_PRINCIPAL},
        "Action": ["s3:GetBucketAcl", "s3:GetBucketPolicy", "s3:PutObject"],
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {
            "StringEquals": {
                "aws:SourceArn": f"arn:aws:cur:{ECO_REGION}:{account}:definition/*",
                "aws:SourceAccount": account,
            }
        },
    }


# What the delivery principal must be allowed, and on what: (action, resource) pairs.
def delivery_grants(bucket: str) -> tuple[tuple[str, str], ...]:
    return (
        ("s3:GetBucketAcl", f"arn:aws:s3:::{bucket}"),
        ("s3:GetBucketPolicy", f"arn:aws:s3:::{bucket}"),
        ("s3:PutObject", f"arn:aws:s3:::{bucket}/*"),
    )

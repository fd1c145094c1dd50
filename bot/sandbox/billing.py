"""A fake of the two billing APIs moto lacks: the legacy Cost and Usage Report (`cur`) and AWS Data Exports
(`bcm-data-exports`, where CUR 2.0 lives), on 127.0.0.1 at an ephemeral port.

boto3 reaches it through AWS_ENDPOINT_URL_COST_AND_USAGE_REPORT_SERVICE and AWS_ENDPOINT_URL_BCM_DATA_EXPORTS
(botocore derives both names from the service ids), also for clients built from assumed-role credentials.
This module owns:

* report definitions and exports, per account (the caller's, from its access key, as moto would tell it);
* AWS's checks: the caller's identity policy (cur:DescribeReportDefinitions...), the field values botocore's
  model allows, the rules AWS adds (Athena needs Parquet and OVERWRITE_REPORT), real-shaped JSON errors;
* `deliver`: what AWS's billingreports service does when it delivers a report into the customer's moto bucket;
* the same fault injection and call log as the gateway (FaultInjection).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import uuid
import zipfile
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from moto.s3.models import s3_backends

from bot.sandbox.gateway import Answer, Call, ServedFake, json_answer, json_error, service_model
from bot.sandbox.iam_policy import Decision, caller_of, denial_message, document, identity_decision, resource_policy_allows

CUR_TARGET = "AWSOrigamiServiceGatewayService"
EXPORTS_TARGET = "AWSBillingAndCostManagementDataExports"
SERVICES = {CUR_TARGET: "cur", EXPORTS_TARGET: "bcm-data-exports"}
REGION = "us-east-1"  # both APIs exist only there
DELIVERY_PRINCIPAL = "billingreports.amazonaws.com"
CUR_PAGE_SIZE = 5  # DescribeReportDefinitions' MaxResults must be 5 (botocore model: min 5, max 5)
EXPORT_TABLES = ("COST_AND_USAGE_REPORT", "COST_AND_USAGE_DASHBOARD", "CARBON_EMISSIONS", "FOCUS_1_0_AWS",
                 "COST_OPTIMIZATION_RECOMMENDATIONS")
PARQUET = b"PAR1" + b"\x00" * 8 + b"PAR1"  # magic bytes only: a stand-in, not a readable Parquet file


class ApiError(Exception):
    def __init__(self, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.answer = json_error(400, code, message, **extra)


def _enum(service: str, shape: str) -> list[str]:
    """Allowed values, from botocore's own model: the fake accepts exactly what the API does."""
    return list(service_model(service).shape_for(shape).enum)


def _validation(field: str, value: Any, constraint: str) -> ApiError:
    # The wording AWS's request validation uses.
    return ApiError("ValidationException", f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
                                           f"constraint: {constraint}")


def _check_enum(field: str, value: Any, allowed: list[str]) -> None:
    if value not in allowed:
        raise _validation(field, value, f"Member must satisfy enum value set: [{', '.join(allowed)}]")


def _check_pattern(field: str, value: Any, pattern: str, max_length: int) -> None:
    if not isinstance(value, str) or not re.fullmatch(pattern, value) or len(value) > max_length:
        raise _validation(field, value, f"Member must satisfy regular expression pattern: {pattern} and have length "
                                        f"less than or equal to {max_length}")


def validate_report(definition: dict) -> dict:
    """A report definition as AWS accepts it: only the model's fields, valid values, consistent options."""
    fields = ("ReportName", "TimeUnit", "Format", "Compression", "AdditionalSchemaElements", "S3Bucket", "S3Prefix",
              "S3Region", "AdditionalArtifacts", "RefreshClosedReports", "ReportVersioning", "BillingViewArn")
    report = {key: definition[key] for key in fields if key in definition}
    for key in fields[:8]:
        if key not in report:
            raise _validation(f"reportDefinition.{key[0].lower()}{key[1:]}", None, "Member must not be null")
    _check_pattern("reportDefinition.reportName", report["ReportName"], r"[0-9A-Za-z!\-_.*'()]+", 256)
    _check_enum("reportDefinition.timeUnit", report["TimeUnit"], _enum("cur", "TimeUnit"))
    _check_enum("reportDefinition.format", report["Format"], _enum("cur", "ReportFormat"))
    _check_enum("reportDefinition.compression", report["Compression"], _enum("cur", "CompressionFormat"))
    _check_enum("reportDefinition.s3Region", report["S3Region"], _enum("cur", "AWSRegion"))
    _check_pattern("reportDefinition.s3Bucket", report["S3Bucket"], r"[A-Za-z0-9_.\-]+", 256)
    _check_pattern("reportDefinition.s3Prefix", report["S3Prefix"], r"[0-9A-Za-z!\-_.*'()/]*", 256)
    for element in report["AdditionalSchemaElements"]:
        _check_enum("reportDefinition.additionalSchemaElements.member", element, _enum("cur", "SchemaElement"))
    artifacts = report.get("AdditionalArtifacts", [])
    for artifact in artifacts:
        _check_enum("reportDefinition.additionalArtifacts.member", artifact, _enum("cur", "AdditionalArtifact"))
    if "ReportVersioning" in report:
        _check_enum("reportDefinition.reportVersioning", report["ReportVersioning"], _enum("cur", "ReportVersioning"))
    if (report["Format"] == "Parquet") != (report["Compression"] == "Parquet"):
        raise ApiError("ValidationException", f"Invalid compression {report['Compression']} for report format {report['Format']}.")
    if "ATHENA" in artifacts:
        if len(artifacts) > 1:
            raise ApiError("ValidationException", "ATHENA cannot be combined with other additional artifacts.")
        if report["Format"] != "Parquet" or report.get("ReportVersioning") != "OVERWRITE_REPORT":
            raise ApiError("ValidationException",
                           "Athena integration requires report format Parquet and report versioning OVERWRITE_REPORT.")
    if {"REDSHIFT", "QUICKSIGHT"} & set(artifacts) and report["Format"] != "textORcsv":
        raise ApiError("ValidationException", "Redshift and QuickSight integrations require report format textORcsv.")
    return report


def validate_export(export: dict) -> dict:
    """An export as AWS accepts it: a SELECT from a known table, known table properties and output options."""
    if not isinstance(export.get("Name"), str):
        raise _validation("export.name", None, "Member must not be null")
    _check_pattern("export.name", export["Name"], r"[0-9A-Za-z\-_]+", 128)
    query = (export.get("DataQuery") or {}).get("QueryStatement", "")
    table = re.search(r"\bFROM\s+([A-Za-z0-9_]+)", query, re.IGNORECASE)
    if not re.match(r"\s*SELECT\b", query, re.IGNORECASE) or table is None or table.group(1).upper() not in EXPORT_TABLES:
        raise ApiError("ValidationException", f"Invalid query statement: {query!r}", Reason="fieldValidationFailed",
                       Fields=[{"Name": "QueryStatement", "Message": "must select from a supported table"}])
    for name, properties in (export["DataQuery"].get("TableConfigurations") or {}).items():
        if name not in EXPORT_TABLES:
            raise ApiError("ValidationException", f"Unknown table {name} in TableConfigurations", Reason="fieldValidationFailed")
        if "TIME_GRANULARITY" in properties:
            _check_enum("TIME_GRANULARITY", properties["TIME_GRANULARITY"], ["HOURLY", "DAILY", "MONTHLY"])
        for flag in ("INCLUDE_RESOURCES", "INCLUDE_SPLIT_COST_ALLOCATION_DATA", "INCLUDE_MANUAL_DISCOUNT_COMPATIBILITY"):
            if flag in properties:
                _check_enum(flag, properties[flag], ["TRUE", "FALSE"])
    destination = (export.get("DestinationConfigurations") or {}).get("S3Destination") or {}
    output = destination.get("S3OutputConfigurations") or {}
    for key, shape in (("OutputType", "S3OutputType"), ("Format", "FormatOption"), ("Compression", "CompressionOption"),
                       ("Overwrite", "OverwriteOption")):
        _check_enum(f"export.destinationConfigurations.s3Destination.s3OutputConfigurations.{key[0].lower()}{key[1:]}",
                    output.get(key), _enum("bcm-data-exports", shape))
    return export


def _next_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError):
        raise ApiError("ValidationException", "Invalid NextToken.") from None


class BillingFake(ServedFake):
    """cur and bcm-data-exports for every account; start()/stop(), `url`, reset(), deliver()."""

    def __init__(self) -> None:
        super().__init__()
        self._reports: dict[str, dict[str, dict]] = {}  # account -> report name -> definition (insertion order)
        self._exports: dict[str, dict[str, dict]] = {}  # account -> export ARN -> {"Export":..., "ExportStatus":...}

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._reports.clear()
            self._exports.clear()

    def reports(self, account_id: str) -> list[dict]:
        """The account's report definitions as DescribeReportDefinitions would return them (for assertions)."""
        with self._lock:
            return json.loads(json.dumps(list(self._reports.get(account_id, {}).values())))

    # --- HTTP ----------------------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        match = re.search(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        if match is None:
            return json_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")(None, start_response)
        access_key, region, _ = match.groups()
        prefix, _, operation = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")
        service = SERVICES.get(prefix)
        if service is None:
            return json_error(400, "UnknownOperationException", "")(None, start_response)
        caller = caller_of(access_key)
        call, throttled = self._arrive(service, operation, caller.account_id)
        if throttled:
            return json_error(400, "ThrottlingException", "Rate exceeded")(call, start_response)
        if region != REGION:
            # Both APIs live in us-east-1 only; a request signed for another region is refused as AWS refuses it.
            message = f"Credential should be scoped to a valid region, not '{region}'. "
            return json_error(403, "InvalidSignatureException", message)(call, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except ValueError:
            return json_error(400, "SerializationException", "Malformed request body")(call, start_response)
        handler = getattr(self, f"_{service.replace('-', '_')}_{operation}", None)
        if handler is None:
            return json_error(400, "UnknownOperationException", "")(call, start_response)
        action = f"{service}:{operation}"
        resource = self._resource(service, operation, caller.account_id, body)
        decision = identity_decision(caller, action, resource)
        if decision is not Decision.ALLOW:
            return json_error(400, "AccessDeniedException", denial_message(caller, action, resource, decision))(call, start_response)
        try:
            with self._lock:
                answer: Answer = json_answer(200, handler(caller.account_id, body))
        except ApiError as error:
            answer = error.answer
        return answer(call, start_response)

    @staticmethod
    def _resource(service: str, operation: str, account_id: str, body: dict) -> str:
        if service == "cur" and operation != "DescribeReportDefinitions":
            name = body.get("ReportName") or (body.get("ReportDefinition") or {}).get("ReportName", "")
            return f"arn:aws:cur:{REGION}:{account_id}:definition/{name}"
        if service == "bcm-data-exports" and "ExportArn" in body:
            return str(body["ExportArn"])
        return "*"

    # --- cur -------------------------------------------------------------------------------------------------

    def _cur_PutReportDefinition(self, account_id: str, body: dict) -> dict:
        report = validate_report(body.get("ReportDefinition") or {})
        reports = self._reports.setdefault(account_id, {})
        if report["ReportName"] in reports:
            raise ApiError("DuplicateReportNameException",
                           "A report with the specified name already exists in the account. Specify a different report name.")
        reports[report["ReportName"]] = report
        return {}

    def _cur_DescribeReportDefinitions(self, account_id: str, body: dict) -> dict:
        size = body.get("MaxResults", CUR_PAGE_SIZE)
        if size != CUR_PAGE_SIZE:
            raise _validation("maxResults", size, f"Member must have value less than or equal to {CUR_PAGE_SIZE}")
        reports = list(self._reports.get(account_id, {}).values())
        start = _offset(body.get("NextToken"))
        page = {"ReportDefinitions": json.loads(json.dumps(reports[start:start + size]))}
        if start + size < len(reports):
            page["NextToken"] = _next_token(start + size)
        return page

    def _cur_ModifyReportDefinition(self, account_id: str, body: dict) -> dict:
        name = body.get("ReportName")
        reports = self._reports.get(account_id, {})
        if name not in reports:
            raise ApiError("ValidationException", f"Report {name} does not exist.")
        report = validate_report(body.get("ReportDefinition") or {})
        if report["ReportName"] != name:
            raise ApiError("ValidationException", "ReportName cannot be changed.")
        if "ReportStatus" in reports[name]:
            report["ReportStatus"] = reports[name]["ReportStatus"]
        reports[name] = report
        return {}

    def _cur_DeleteReportDefinition(self, account_id: str, body: dict) -> dict:
        name = body.get("ReportName")
        if self._reports.get(account_id, {}).pop(name, None) is None:
            raise ApiError("ValidationException", f"Report {name} does not exist.")
        return {"ResponseMessage": f"Successfully deleted report {name}."}

    # --- bcm-data-exports ---------------------------------------------------------------------------------------

    def _find_export(self, account_id: str, arn: Any) -> dict:
        found = self._exports.get(account_id, {}).get(arn)
        if found is None:
            raise ApiError("ResourceNotFoundException", f"Export {arn} not found.", ResourceId=str(arn), ResourceType="Export")
        return found

    def _bcm_data_exports_CreateExport(self, account_id: str, body: dict) -> dict:
        export = validate_export(json.loads(json.dumps(body.get("Export") or {})))
        exports = self._exports.setdefault(account_id, {})
        if any(e["Export"]["Name"] == export["Name"] for e in exports.values()):
            raise ApiError("ValidationException", f"Export with name {export['Name']} already exists.", Reason="other")
        export["ExportArn"] = f"arn:aws:bcm-data-exports:{REGION}:{account_id}:export/{export['Name']}-{uuid.uuid4()}"
        now = datetime.now(timezone.utc).timestamp()
        exports[export["ExportArn"]] = {"Export": export, "ExportStatus": {"StatusCode": "HEALTHY", "CreatedAt": now, "LastUpdatedAt": now}}
        return {"ExportArn": export["ExportArn"]}

    def _bcm_data_exports_ListExports(self, account_id: str, body: dict) -> dict:
        size = body.get("MaxResults", 300)
        if not isinstance(size, int) or not 1 <= size <= 300:
            raise _validation("maxResults", size, "Member must have value between 1 and 300")
        exports = list(self._exports.get(account_id, {}).values())
        start = _offset(body.get("NextToken"))
        page = {"Exports": [{"ExportArn": e["Export"]["ExportArn"], "ExportName": e["Export"]["Name"],
                             "ExportStatus": dict(e["ExportStatus"])} for e in exports[start:start + size]]}
        if start + size < len(exports):
            page["NextToken"] = _next_token(start + size)
        return page

    def _bcm_data_exports_GetExport(self, account_id: str, body: dict) -> dict:
        return json.loads(json.dumps(self._find_export(account_id, body.get("ExportArn"))))

    def _bcm_data_exports_DeleteExport(self, account_id: str, body: dict) -> dict:
        self._find_export(account_id, body.get("ExportArn"))
        del self._exports[account_id][body["ExportArn"]]
        return {"ExportArn": body["ExportArn"]}

    # --- delivery ------------------------------------------------------------------------------------------------

    def deliver(self, account_id: str, report_name: str, at: datetime | None = None) -> str:
        """Deliver the report as AWS's billingreports service would; return (and record) its lastStatus.

        ERROR_NO_BUCKET when the bucket is gone; ERROR_PERMISSIONS when its policy does not let
        billingreports.amazonaws.com s3:PutObject the report's objects; otherwise the objects are written into
        moto S3 and the status is SUCCESS. lastDelivery records the attempt, in AWS's format (20261127T101500Z).
        """
        at = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        with self._lock:
            report = self._reports.get(account_id, {}).get(report_name)
            if report is None:
                raise KeyError(f"account {account_id} has no report {report_name!r}")
            objects = _report_objects(account_id, report, at)
            status = _delivery_status(account_id, report["S3Bucket"], objects)
            if status == "SUCCESS":
                partition, owner = s3_backends.bucket_accounts[report["S3Bucket"]]
                for key, content in objects.items():
                    s3_backends[owner][partition].put_object(report["S3Bucket"], key, content)
            report["ReportStatus"] = {"lastDelivery": at.strftime("%Y%m%dT%H%M%SZ"), "lastStatus": status}
            return status


def _delivery_status(account_id: str, bucket: str, objects: dict[str, bytes]) -> str:
    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return "ERROR_NO_BUCKET"
    partition, owner_account = owner
    policy = s3_backends[owner_account][partition].buckets[bucket].policy
    # billingreports presents the definition wildcard as aws:SourceArn, which is why the policy AWS documents
    # can compare it with StringEquals.
    context = {"aws:SourceArn": f"arn:aws:cur:{REGION}:{account_id}:definition/*", "aws:SourceAccount": account_id}
    parsed = document(policy.decode()) if policy else None
    for key in objects:
        if not resource_policy_allows(parsed, service=DELIVERY_PRINCIPAL, action="s3:PutObject",
                                      resource=f"arn:aws:s3:::{bucket}/{key}", context=context):
            return "ERROR_PERMISSIONS"
    return "SUCCESS"


def _key(*parts: str) -> str:
    return "/".join(part.strip("/") for part in parts if part.strip("/"))


def _report_objects(account_id: str, report: dict, at: datetime) -> dict[str, bytes]:
    """The objects AWS writes for one delivery of `report`, keyed by S3 key, for the billing period of `at`."""
    name, prefix = report["ReportName"], report["S3Prefix"]
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    if "ATHENA" in report.get("AdditionalArtifacts", []):
        # Athena integration: Parquet partitions that a Glue crawler (crawler-cfn.yml) keeps as a table.
        return {
            _key(prefix, name, name, f"year={start.year}", f"month={start.month}", f"{name}-00001.snappy.parquet"): PARQUET,
            _key(prefix, name, "crawler-cfn.yml"): b"AWSTemplateFormatVersion: 2010-09-09\nDescription: CUR Athena crawler\n",
            _key(prefix, name, "cost_and_usage_data_status", "cost_and_usage_data_status.parquet"): PARQUET,
        }
    period = f"{start:%Y%m%d}-{end:%Y%m%d}"
    assembly = str(uuid.uuid4())
    extension, content_type, data = _report_file(report)
    # A new report version gets its own assembly folder; an overwritten one replaces the files in place.
    folder = _key(prefix, name, period, assembly) if report.get("ReportVersioning") == "CREATE_NEW_REPORT" else _key(prefix, name, period)
    data_key = _key(folder, f"{name}-00001.{extension}")
    manifest = {
        "assemblyId": assembly,
        "account": account_id,
        "columns": [{"category": "identity", "name": "LineItemId", "type": "String"},
                    {"category": "lineItem", "name": "UnblendedCost", "type": "BigDecimal"}],
        "charset": "UTF-8",
        "compression": report["Compression"],
        "contentType": content_type,
        "reportId": uuid.uuid4().hex,
        "reportName": name,
        "billingPeriod": {"start": f"{start:%Y%m%dT%H%M%S}.000Z", "end": f"{end:%Y%m%dT%H%M%S}.000Z"},
        "bucket": report["S3Bucket"],
        "reportKeys": [data_key],
        "additionalArtifactKeys": [],
    }
    return {data_key: data, _key(prefix, name, period, f"{name}-Manifest.json"): json.dumps(manifest, indent=2).encode()}


def _report_file(report: dict) -> tuple[str, str, bytes]:
    if report["Format"] == "Parquet":
        return "snappy.parquet", "application/x-parquet", PARQUET
    csv = b"identity/LineItemId,lineItem/UnblendedCost\n1,0.01\n"
    if report["Compression"] == "ZIP":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"{report['ReportName']}-00001.csv", csv)
        return "csv.zip", "text/csv", buffer.getvalue()
    return "csv.gz", "text/csv", gzip.compress(csv)


__all__ = ["BillingFake", "Call", "validate_export", "validate_report"]

"""The fake AWS enforces what it claims, seen through real boto3 calls: trust policies and external IDs on
AssumeRole, the template role's policies, the billing APIs moto lacks, report delivery, and fault injection.
A fake that let everything through would make the verifier's tests prove nothing; these tests prevent that.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bot.sandbox.gateway import Call
from bot.sandbox.world import BOT_PRINCIPAL, CUSTOMER_ACCOUNT, AwsWorld, CustomerAccount

EXTERNAL_ID = "eco-7-3f9a1c"
OTHER_ACCOUNT = "444455556666"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})  # botocore: max_attempts counts retries only


def assume(role_arn: str, external_id: str | None = EXTERNAL_ID, **client_kwargs) -> boto3.Session:
    """AssumeRole as the bot (the environment's credentials), as the verifier does."""
    params = {"RoleArn": role_arn, "RoleSessionName": "eco-test", "DurationSeconds": 900}
    if external_id is not None:
        params["ExternalId"] = external_id
    credentials = boto3.client("sts", **client_kwargs).assume_role(**params)["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )


def refusal(call) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value


def code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


@pytest.fixture
def role(bare_customer: CustomerAccount) -> str:
    """The template's role, launched by the customer for the bot's principal and EXTERNAL_ID."""
    return bare_customer.launch_stack(external_id=EXTERNAL_ID, bucket="acme-cur")


# --- AssumeRole -----------------------------------------------------------------------------------------------


def test_assume_role_is_refused_for_a_role_that_does_not_exist(aws: AwsWorld):
    missing = f"arn:aws:iam::{CUSTOMER_ACCOUNT}:role/eco/nobody"
    error = refusal(lambda: assume(missing))
    assert code(error) == "AccessDenied"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Message"] == (
        f"User: {BOT_PRINCIPAL} is not authorized to perform: sts:AssumeRole on resource: {missing}"
    )


def test_assume_role_is_refused_when_the_trust_policy_names_another_principal(bare_customer: CustomerAccount):
    role_arn = bare_customer.launch_stack(external_id=EXTERNAL_ID, bucket="acme-cur", principal="arn:aws:iam::999999999999:role/eco")
    assert code(refusal(lambda: assume(role_arn))) == "AccessDenied"


@pytest.mark.parametrize("external_id", ["eco-7-wrong", None], ids=["wrong", "absent"])
def test_assume_role_is_refused_without_the_right_external_id(role: str, external_id):
    assert code(refusal(lambda: assume(role, external_id))) == "AccessDenied"


def test_assume_role_with_the_right_external_id_acts_in_the_customer_account(role: str):
    identity = assume(role).client("sts").get_caller_identity()
    assert identity["Account"] == CUSTOMER_ACCOUNT
    assert identity["Arn"].startswith(f"arn:aws:sts::{CUSTOMER_ACCOUNT}:assumed-role/{role.rsplit('/', 1)[1]}/")


def test_a_trust_policy_without_the_condition_lets_anyone_trusted_in(bare_customer: CustomerAccount, role: str):
    bare_customer.update_trust_policy(role, {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["111111111111", BOT_PRINCIPAL.split(":")[4]]}, "Action": ["sts:AssumeRole"]}],
    })
    assume(role, None)  # the confused-deputy risk: no external ID needed
    assume(role, "anything")


def test_an_explicit_deny_in_the_trust_policy_wins(bare_customer: CustomerAccount, role: str):
    trust = bare_customer.trust_policy(role)
    trust["Statement"].append({"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    bare_customer.update_trust_policy(role, trust)
    assert code(refusal(lambda: assume(role))) == "AccessDenied"


def test_string_like_external_ids_match_and_unknown_conditions_fail_closed(bare_customer: CustomerAccount, role: str):
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{BOT_PRINCIPAL.split(':')[4]}:root"},
                 "Action": "sts:AssumeRole", "Condition": {"StringLike": {"sts:ExternalId": "eco-7-*"}}}
    bare_customer.update_trust_policy(role, {"Version": "2012-10-17", "Statement": [statement]})
    assume(role)
    assert code(refusal(lambda: assume(role, "eco-8-3f9a1c"))) == "AccessDenied"
    statement["Condition"]["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
    bare_customer.update_trust_policy(role, {"Version": "2012-10-17", "Statement": [statement]})
    assert code(refusal(lambda: assume(role))) == "AccessDenied"


# --- the template role's policies --------------------------------------------------------------------------


def test_the_role_lists_and_reads_its_bucket_and_nothing_else(bare_customer: CustomerAccount, role: str):
    bare_customer.create_bucket("acme-other")
    bare_customer.session.client("s3").put_object(Bucket="acme-cur", Key="cur/eco-cur/crawler-cfn.yml", Body=b"x")
    s3 = assume(role).client("s3", config=NO_RETRIES)

    assert s3.list_objects_v2(Bucket="acme-cur", MaxKeys=1)["KeyCount"] == 1
    assert s3.get_object(Bucket="acme-cur", Key="cur/eco-cur/crawler-cfn.yml")["Body"].read() == b"x"
    assert s3.head_bucket(Bucket="acme-cur")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_bucket_location(Bucket="acme-cur")["LocationConstraint"] is None

    denied = refusal(lambda: s3.list_objects_v2(Bucket="acme-other"))
    assert (code(denied), denied.response["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    assert "s3:ListBucket on resource: arn:aws:s3:::acme-other" in denied.response["Error"]["Message"]
    # A refused HEAD has no body, but still names the bucket's region.
    head = refusal(lambda: s3.head_bucket(Bucket="acme-other"))
    assert code(head) == "403" and head.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert code(refusal(lambda: s3.put_object(Bucket="acme-cur", Key="x", Body=b"x"))) == "AccessDenied"
    assert code(refusal(lambda: s3.get_bucket_acl(Bucket="acme-cur"))) == "AccessDenied"
    assert code(refusal(lambda: s3.list_buckets())) == "AccessDenied"


def test_the_role_calls_the_billing_apis_its_policy_names(bare_customer: CustomerAccount, role: str):
    session = assume(role)
    assert session.client("cur").describe_report_definitions()["ReportDefinitions"] == []
    assert session.client("bcm-data-exports").list_exports()["Exports"] == []
    assert session.client("ce").get_cost_and_usage(
        TimePeriod={"Start": "2026-10-01", "End": "2026-11-01"}, Granularity="MONTHLY", Metrics=["UnblendedCost"]
    )["ResultsByTime"] == []
    organizations = session.client("organizations")
    assert code(refusal(organizations.describe_organization)) == "AWSOrganizationsNotInUseException"  # allowed, and moto's answer
    bare_customer.create_organization()
    assert organizations.describe_organization()["Organization"]["MasterAccountId"] == CUSTOMER_ACCOUNT

    # Each protocol refuses in its own shape.
    put = refusal(lambda: session.client("cur").put_report_definition(ReportDefinition=customer_report()))
    assert (code(put), put.response["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDeniedException", 400)
    assert code(refusal(lambda: session.client("bcm-data-exports").delete_export(ExportArn="arn:aws:bcm-data-exports:us-east-1:"
                                                                                          f"{CUSTOMER_ACCOUNT}:export/x"))) == "AccessDeniedException"
    assert code(refusal(lambda: session.client("ce").get_tags(TimePeriod={"Start": "2026-10-01", "End": "2026-11-01"}))) == "AccessDeniedException"
    assert code(refusal(organizations.list_accounts)) == "AccessDeniedException"
    iam = refusal(lambda: session.client("iam").list_roles())
    assert (code(iam), iam.response["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    ec2 = refusal(lambda: session.client("ec2").describe_instances())
    assert code(ec2) == "UnauthorizedOperation"


def test_the_role_loses_what_its_removed_policies_granted(bare_customer: CustomerAccount, role: str):
    session = assume(role)
    bare_customer.delete_role_policy(role, "eco-cur-bucket-read")
    assert code(refusal(lambda: session.client("s3").list_objects_v2(Bucket="acme-cur"))) == "AccessDenied"
    assert session.client("cur").describe_report_definitions()["ReportDefinitions"] == []
    bare_customer.delete_role_policy(role, "eco-billing-read")
    assert code(refusal(lambda: session.client("cur").describe_report_definitions())) == "AccessDeniedException"
    # GetCallerIdentity needs no permission.
    assert session.client("sts").get_caller_identity()["Account"] == CUSTOMER_ACCOUNT


def test_an_explicit_deny_in_a_role_policy_wins(bare_customer: CustomerAccount, role: str):
    bare_customer.put_role_policy(role, "no-cur", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "cur:Describe*", "Resource": "*"}],
    })
    error = refusal(lambda: assume(role).client("cur").describe_report_definitions())
    assert "explicit deny" in error.response["Error"]["Message"]


# --- cur --------------------------------------------------------------------------------------------------


def customer_report(**changes) -> dict:
    report = {
        "ReportName": "eco-cur", "TimeUnit": "HOURLY", "Format": "Parquet", "Compression": "Parquet",
        "AdditionalSchemaElements": ["RESOURCES"], "S3Bucket": "acme-cur", "S3Prefix": "cur", "S3Region": "us-east-1",
        "AdditionalArtifacts": ["ATHENA"], "RefreshClosedReports": True, "ReportVersioning": "OVERWRITE_REPORT",
    }
    return {**report, **changes}


def test_a_report_reads_back_as_it_was_created(bare_customer: CustomerAccount):
    sent = bare_customer.create_report()
    assert sent == customer_report()
    (report,) = bare_customer.session.client("cur").describe_report_definitions()["ReportDefinitions"]
    assert report == sent  # no ReportStatus before AWS has delivered anything


def test_report_definitions_come_in_pages_of_five(bare_customer: CustomerAccount):
    names = [f"report-{n:02}" for n in range(12)]
    for name in names:
        bare_customer.create_report(name)
    pages = list(bare_customer.session.client("cur").get_paginator("describe_report_definitions").paginate())
    assert [len(page["ReportDefinitions"]) for page in pages] == [5, 5, 2]
    assert [r["ReportName"] for page in pages for r in page["ReportDefinitions"]] == names


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ReportVersioning": "CREATE_NEW_REPORT"}, "OVERWRITE_REPORT"),
        ({"Format": "textORcsv", "Compression": "GZIP"}, "Parquet"),
        ({"Compression": "GZIP"}, "compression"),
        ({"TimeUnit": "WEEKLY"}, "enum value set"),
        ({"AdditionalSchemaElements": ["TAGS"]}, "enum value set"),
        ({"AdditionalArtifacts": ["ATHENA", "REDSHIFT"]}, "ATHENA"),
        ({"ReportName": "eco cur"}, "pattern"),
    ],
)
def test_invalid_reports_are_refused_as_aws_refuses_them(bare_customer: CustomerAccount, changes, message):
    error = refusal(lambda: bare_customer.session.client("cur").put_report_definition(ReportDefinition=customer_report(**changes)))
    assert code(error) == "ValidationException" and message in error.response["Error"]["Message"]


def test_report_names_are_unique_and_reports_belong_to_their_account(bare_customer: CustomerAccount):
    bare_customer.create_report()
    assert code(refusal(bare_customer.create_report)) == "DuplicateReportNameException"
    other = CustomerAccount.open(OTHER_ACCOUNT)
    assert other.session.client("cur").describe_report_definitions()["ReportDefinitions"] == []
    assert boto3.client("cur").describe_report_definitions()["ReportDefinitions"] == []  # nor the bot's
    other.create_report()  # the same name, in another account


def test_reports_can_be_modified_and_deleted(bare_customer: CustomerAccount):
    cur = bare_customer.session.client("cur")
    bare_customer.create_report()
    cur.modify_report_definition(ReportName="eco-cur", ReportDefinition=customer_report(TimeUnit="DAILY"))
    assert cur.describe_report_definitions()["ReportDefinitions"][0]["TimeUnit"] == "DAILY"
    renamed = customer_report(ReportName="x")
    assert code(refusal(lambda: cur.modify_report_definition(ReportName="eco-cur", ReportDefinition=renamed))) == "ValidationException"
    cur.delete_report_definition(ReportName="eco-cur")
    assert cur.describe_report_definitions()["ReportDefinitions"] == []


def test_the_billing_apis_answer_in_us_east_1_only(bare_customer: CustomerAccount):
    error = refusal(lambda: bare_customer.session.client("cur", region_name="eu-west-1").describe_report_definitions())
    assert code(error) == "InvalidSignatureException"


# --- bcm-data-exports --------------------------------------------------------------------------------------


def test_an_export_reads_back_with_its_arn_and_status(bare_customer: CustomerAccount):
    arn = bare_customer.create_export("eco-cur2", "acme-cur")
    assert arn.startswith(f"arn:aws:bcm-data-exports:us-east-1:{CUSTOMER_ACCOUNT}:export/eco-cur2-")
    exports = bare_customer.session.client("bcm-data-exports")
    (listed,) = exports.list_exports()["Exports"]
    assert (listed["ExportArn"], listed["ExportName"], listed["ExportStatus"]["StatusCode"]) == (arn, "eco-cur2", "HEALTHY")
    got = exports.get_export(ExportArn=arn)
    assert got["Export"]["DataQuery"]["QueryStatement"].endswith("FROM COST_AND_USAGE_REPORT")
    assert got["Export"]["DataQuery"]["TableConfigurations"]["COST_AND_USAGE_REPORT"]["TIME_GRANULARITY"] == "HOURLY"
    destination = got["Export"]["DestinationConfigurations"]["S3Destination"]
    assert (destination["S3Bucket"], destination["S3Prefix"], destination["S3OutputConfigurations"]["Overwrite"]) == (
        "acme-cur", "cur2", "OVERWRITE_REPORT")
    assert isinstance(got["ExportStatus"]["CreatedAt"], datetime)

    assert CustomerAccount.open(OTHER_ACCOUNT).session.client("bcm-data-exports").list_exports()["Exports"] == []
    exports.delete_export(ExportArn=arn)
    missing = refusal(lambda: exports.get_export(ExportArn=arn))
    assert code(missing) == "ResourceNotFoundException"


def test_an_export_must_select_from_a_known_table(bare_customer: CustomerAccount):
    exports = bare_customer.session.client("bcm-data-exports")
    destination = {"S3Destination": {"S3Bucket": "acme-cur", "S3Prefix": "x", "S3Region": "us-east-1", "S3OutputConfigurations": {
        "OutputType": "CUSTOM", "Format": "PARQUET", "Compression": "PARQUET", "Overwrite": "OVERWRITE_REPORT"}}}
    error = refusal(lambda: exports.create_export(Export={
        "Name": "bad", "DataQuery": {"QueryStatement": "SELECT * FROM MY_TABLE"}, "DestinationConfigurations": destination,
        "RefreshCadence": {"Frequency": "SYNCHRONOUS"}}))
    assert code(error) == "ValidationException"


# --- delivery ----------------------------------------------------------------------------------------------


def keys(bare_customer: CustomerAccount, bucket: str = "acme-cur") -> list[str]:
    return [o["Key"] for o in bare_customer.session.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]


def report_status(bare_customer: CustomerAccount) -> dict:
    return bare_customer.session.client("cur").describe_report_definitions()["ReportDefinitions"][0].get("ReportStatus")


AT = datetime(2026, 11, 27, 10, 15, tzinfo=timezone.utc)


def test_delivery_needs_the_bucket_policy(aws: AwsWorld, bare_customer: CustomerAccount):
    bare_customer.create_report()
    assert aws.deliver_report(CUSTOMER_ACCOUNT, "eco-cur", at=AT) == "ERROR_PERMISSIONS"
    assert keys(bare_customer) == []
    assert report_status(bare_customer) == {"lastDelivery": "20261127T101500Z", "lastStatus": "ERROR_PERMISSIONS"}

    bare_customer.allow_cur_delivery("acme-cur")
    assert aws.deliver_report(CUSTOMER_ACCOUNT, "eco-cur", at=AT) == "SUCCESS"
    assert sorted(keys(bare_customer)) == [
        "cur/eco-cur/cost_and_usage_data_status/cost_and_usage_data_status.parquet",
        "cur/eco-cur/crawler-cfn.yml",
        "cur/eco-cur/eco-cur/year=2026/month=11/eco-cur-00001.snappy.parquet",
    ]
    assert report_status(bare_customer)["lastStatus"] == "SUCCESS"


def test_a_policy_for_another_account_does_not_let_billing_deliver(aws: AwsWorld, bare_customer: CustomerAccount):
    bare_customer.create_report()
    statement = {"Effect": "Allow", "Principal": {"Service": "billingreports.amazonaws.com"}, "Action": "s3:PutObject",
                 "Resource": "arn:aws:s3:::acme-cur/*", "Condition": {"StringEquals": {"aws:SourceAccount": OTHER_ACCOUNT}}}
    bare_customer.put_bucket_policy("acme-cur", json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    assert aws.deliver_report(CUSTOMER_ACCOUNT, "eco-cur") == "ERROR_PERMISSIONS"
    statement["Condition"]["StringEquals"]["aws:SourceAccount"] = CUSTOMER_ACCOUNT
    bare_customer.put_bucket_policy("acme-cur", {"Version": "2012-10-17", "Statement": [statement]})
    assert aws.deliver_report(CUSTOMER_ACCOUNT, "eco-cur") == "SUCCESS"


def test_a_csv_report_gets_a_manifest_and_a_missing_bucket_an_error(aws: AwsWorld, bare_customer: CustomerAccount):
    bare_customer.allow_cur_delivery("acme-cur")
    bare_customer.create_report("csv", athena=False, fmt="textORcsv", versioning="CREATE_NEW_REPORT", prefix="")
    assert aws.deliver_report(CUSTOMER_ACCOUNT, "csv", at=AT) == "SUCCESS"
    assert "csv/20261101-20261201/csv-Manifest.json" in keys(bare_customer)
    manifest = json.loads(bare_customer.session.client("s3").get_object(Bucket="acme-cur", Key="csv/20261101-20261201/csv-Manifest.json")["Body"].read())
    (data_key,) = manifest["reportKeys"]
    assert data_key in keys(bare_customer) and data_key.endswith("/csv-00001.csv.gz")

    bare_customer.create_report("gone", bucket="acme-deleted")
    assert aws.deliver_report(CUSTOMER_ACCOUNT, "gone") == "ERROR_NO_BUCKET"


def test_the_role_reads_what_aws_delivered(aws: AwsWorld, bare_customer: CustomerAccount, role: str):
    bare_customer.allow_cur_delivery("acme-cur")
    bare_customer.create_report()
    aws.deliver_report(CUSTOMER_ACCOUNT, "eco-cur")
    s3 = assume(role).client("s3")
    listed = s3.list_objects_v2(Bucket="acme-cur", Prefix="cur/eco-cur/eco-cur/")["Contents"]
    assert s3.get_object(Bucket="acme-cur", Key=listed[0]["Key"])["Body"].read().startswith(b"PAR1")


# --- environment, faults and the call log ------------------------------------------------------------------


def test_boto3_reaches_the_billing_fake_through_the_standard_variables(aws: AwsWorld, role: str):
    environment = aws.environment()
    assert environment["AWS_ENDPOINT_URL"] == aws.url
    assert environment["AWS_ENDPOINT_URL_COST_AND_USAGE_REPORT_SERVICE"] == aws.billing.url
    assert environment["AWS_ENDPOINT_URL_BCM_DATA_EXPORTS"] == aws.billing.url
    session = assume(role)  # clients from assumed credentials resolve the same variables
    assert session.client("cur").meta.endpoint_url == aws.billing.url
    assert session.client("bcm-data-exports").meta.endpoint_url == aws.billing.url
    assert session.client("s3").meta.endpoint_url == aws.url


def test_the_call_log_names_service_action_and_account(aws: AwsWorld, bare_customer: CustomerAccount, role: str):
    aws.clear()
    session = assume(role)
    session.client("s3").list_objects_v2(Bucket="acme-cur")
    session.client("cur").describe_report_definitions()
    assert aws.calls() == [
        Call("sts", "AssumeRole", "123456789012"),
        Call("s3", "ListObjectsV2", CUSTOMER_ACCOUNT),
        Call("cur", "DescribeReportDefinitions", CUSTOMER_ACCOUNT),
    ]
    aws.clear()
    assert aws.calls() == []


def test_throttled_calls_are_retried_by_botocore_and_then_answer(aws: AwsWorld, role: str):
    aws.throttle("sts", "AssumeRole", times=2)
    aws.throttle("cur", "DescribeReportDefinitions", times=1)
    aws.clear()
    retries = Config(retries={"mode": "standard", "max_attempts": 4})
    assume(role, config=retries).client("cur", config=retries).describe_report_definitions()
    statuses = [(c.service, c.action, c.status) for c in aws.calls()]
    assert statuses == [("sts", "AssumeRole", 400)] * 2 + [("sts", "AssumeRole", 200)] + [
        ("cur", "DescribeReportDefinitions", 400), ("cur", "DescribeReportDefinitions", 200)]


def test_throttles_take_each_protocols_shape(aws: AwsWorld, bare_customer: CustomerAccount, role: str):
    aws.throttle("sts", "AssumeRole")
    assert code(refusal(lambda: assume(role, config=NO_RETRIES))) == "Throttling"
    aws.throttle("s3", "ListObjectsV2")
    slow = refusal(lambda: bare_customer.session.client("s3", config=NO_RETRIES).list_objects_v2(Bucket="acme-cur"))
    assert (code(slow), slow.response["ResponseMetadata"]["HTTPStatusCode"]) == ("SlowDown", 503)
    aws.throttle("bcm-data-exports")
    assert code(refusal(lambda: bare_customer.session.client("bcm-data-exports", config=NO_RETRIES).list_exports())) == "ThrottlingException"
    bare_customer.session.client("bcm-data-exports", config=NO_RETRIES).list_exports()  # the throttle is used up


def test_delays_and_latency_slow_calls_down(aws: AwsWorld, bare_customer: CustomerAccount):
    s3 = bare_customer.session.client("s3")
    aws.delay("s3", "ListObjectsV2", 0.3)
    started = time.monotonic()
    s3.list_objects_v2(Bucket="acme-cur")
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    s3.head_bucket(Bucket="acme-cur")
    assert time.monotonic() - started < 0.3
    aws.latency(0.2)
    started = time.monotonic()
    boto3.client("cur").describe_report_definitions()
    boto3.client("sts").get_caller_identity()
    assert time.monotonic() - started >= 0.4


def test_what_moto_does_not_implement_is_a_501_not_a_retried_crash(aws: AwsWorld, role: str):
    error = refusal(lambda: assume(role).client("ce").get_cost_forecast(
        TimePeriod={"Start": "2030-01-01", "End": "2030-02-01"}, Metric="UNBLENDED_COST", Granularity="MONTHLY"))
    assert (code(error), error.response["ResponseMetadata"]["HTTPStatusCode"]) == ("NotImplemented", 501)
    assert [c.action for c in aws.calls() if c.service == "ce"] == ["GetCostForecast"]


# --- organizations -------------------------------------------------------------------------------------------


def test_a_member_account_sees_its_management_account(aws: AwsWorld, bare_customer: CustomerAccount):
    management = CustomerAccount.open(OTHER_ACCOUNT)
    organization = management.create_organization()
    bare_customer.join_organization(OTHER_ACCOUNT)
    seen = bare_customer.session.client("organizations").describe_organization()["Organization"]
    assert (seen["Id"], seen["MasterAccountId"]) == (organization["Id"], OTHER_ACCOUNT)
    accounts = {a["Id"]: a["JoinedMethod"] for a in management.session.client("organizations").list_accounts()["Accounts"]}
    assert accounts == {OTHER_ACCOUNT: "CREATED", CUSTOMER_ACCOUNT: "INVITED"}
    aws.reset()  # forgets the membership too
    stranger = CustomerAccount.open()
    assert code(refusal(stranger.session.client("organizations").describe_organization)) == "AWSOrganizationsNotInUseException"

"""The declarative requirements (bot/aws/requirements.py) and the verifier's pure helpers that judge a
report definition, a bucket policy and a delivery status. The same paths run end to end, through boto3
and the fakes, in test_verification.py; these pin each rule down on its own.
"""

from __future__ import annotations

import json

import pytest

from bot.aws import requirements as need
from bot.aws.judgements import allows_service, delivery_status
from bot.engine.content import Status, plain

GOOD_REPORT = {
    "ReportName": "eco-cur",
    "TimeUnit": "HOURLY",
    "Format": "Parquet",
    "Compression": "Parquet",
    "AdditionalSchemaElements": ["RESOURCES"],
    "S3Bucket": "acme-cur",
    "S3Prefix": "cur",
    "S3Region": "us-east-1",
    "AdditionalArtifacts": ["ATHENA"],
    "RefreshClosedReports": True,
    "ReportVersioning": "OVERWRITE_REPORT",
}

# One bad setting per requirement, and the words its finding must contain.
BAD_SETTINGS = {
    "Report is hourly": ({"TimeUnit": "DAILY"}, "daily"),
    "Report includes resource IDs": ({"AdditionalSchemaElements": []}, "none"),
    "Report refreshes closed months (data refresh)": ({"RefreshClosedReports": False}, "off"),
    "Report has Athena integration": ({"AdditionalArtifacts": ["REDSHIFT"]}, "REDSHIFT"),
    "Report is written as Parquet": ({"Format": "textORcsv"}, "textORcsv"),
    "Report overwrites the previous version": ({"ReportVersioning": "CREATE_NEW_REPORT"}, "CREATE_NEW_REPORT"),
    "Report is delivered in us-east-1": ({"S3Region": "eu-west-1"}, "eu-west-1"),
}


def test_every_requirement_has_a_failing_case_here():
    assert set(BAD_SETTINGS) == {r.name for r in need.REPORT_REQUIREMENTS}


@pytest.mark.parametrize("requirement", need.REPORT_REQUIREMENTS, ids=lambda r: r.name)
def test_each_requirement_passes_on_a_good_report_and_fails_on_its_bad_setting(requirement):
    assert requirement.satisfied(GOOD_REPORT)
    change, words = BAD_SETTINGS[requirement.name]
    bad = {**GOOD_REPORT, **change}
    assert not requirement.satisfied(bad)
    assert words in requirement.found(bad)
    # Only this requirement notices the change: they do not overlap.
    others = [r.name for r in need.REPORT_REQUIREMENTS if r is not requirement and not r.satisfied(bad)]
    assert others == []
    assert requirement.fix.format(report="eco-cur")


def test_the_report_prefix_is_where_aws_writes_the_files():
    assert need.report_prefix(GOOD_REPORT) == "cur/eco-cur/"
    assert need.report_prefix({**GOOD_REPORT, "S3Prefix": "/a/b/"}) == "a/b/eco-cur/"
    assert need.report_prefix({**GOOD_REPORT, "S3Prefix": ""}) == "eco-cur/"


def _policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_the_documented_statement_grants_everything_delivery_needs():
    policy = _policy(need.delivery_statement("acme-cur", "111122223333"))
    assert all(allows_service(policy, action, resource) for action, resource in need.delivery_grants("acme-cur"))


def test_the_statement_names_this_bucket_and_account():
    statement = need.delivery_statement("acme-cur", "111122223333")
    assert statement["Principal"] == {"Service": "billingreports.amazonaws.com"}
    assert "arn:aws:s3:::acme-cur/*" in statement["Resource"]
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "111122223333"
    assert statement["Condition"]["StringEquals"]["aws:SourceArn"] == "arn:aws:cur:us-east-1:111122223333:definition/*"


@pytest.mark.parametrize(
    ("statement", "put_allowed"),
    [
        ({"Effect": "Allow", "Principal": {"Service": "billingreports.amazonaws.com"}, "Action": "s3:*", "Resource": "arn:aws:s3:::acme-cur*"}, True),
        ({"Effect": "Allow", "Principal": {"Service": ["billingreports.amazonaws.com"]}, "Action": ["s3:GetBucketAcl"], "Resource": "arn:aws:s3:::acme-cur"}, False),
        ({"Effect": "Allow", "Principal": {"Service": "billingreports.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::other-bucket/*"}, False),
        ({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::acme-cur/*"}, False),
    ],
    ids=["wildcards", "put-missing", "other-bucket", "other-principal"],
)
def test_a_bucket_policy_is_read_statement_by_statement(statement, put_allowed):
    assert allows_service(_policy(statement), "s3:PutObject", "arn:aws:s3:::acme-cur/*") is put_allowed


def test_an_explicit_deny_wins_and_garbage_allows_nothing():
    allow = need.delivery_statement("acme-cur", "111122223333")
    deny = {"Effect": "Deny", "Principal": {"Service": "billingreports.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "*"}
    assert not allows_service(_policy(allow, deny), "s3:PutObject", "arn:aws:s3:::acme-cur/*")
    assert not allows_service("not json", "s3:PutObject", "arn:aws:s3:::acme-cur/*")
    assert not allows_service("[]", "s3:PutObject", "arn:aws:s3:::acme-cur/*")


@pytest.mark.parametrize(
    ("status", "expected", "words"),
    [
        ({"lastStatus": "SUCCESS", "lastDelivery": "20261127T101500Z"}, Status.PASS, "2026-11-27 at 10:15 UTC"),
        ({"lastStatus": "ERROR_PERMISSIONS", "lastDelivery": "20261127T101500Z"}, Status.FAIL, "ERROR_PERMISSIONS"),
        ({"lastStatus": "ERROR_NO_BUCKET"}, Status.FAIL, "ERROR_NO_BUCKET"),
        (None, Status.PENDING, "24 hours"),
    ],
    ids=["delivered", "no-permission", "no-bucket", "not-yet"],
)
def test_the_lastdelivery_status(status, expected, words):
    result, detail, _fix = delivery_status({**GOOD_REPORT, "ReportStatus": status} if status else GOOD_REPORT)
    assert result is expected
    assert words in plain(detail)

"""Every role-step check, passing and failing, through real boto3 calls to the fake AWS: moto behind a
gateway that enforces trust and identity policies, and the CUR / Data Exports fake. Each misconfiguration
is made the way a customer would make it (a report set up wrong, a policy edited, a stack launched with
the wrong value) and must come back named, with its fix.
"""

from __future__ import annotations

import json

import pytest

from bot.aws import verifier as v
from bot.aws.verifier import AwsVerifier
from bot.engine.content import Item, Status, plain
from bot.engine.identifiers import parse_role_arn
from bot.sandbox.world import BOT_PRINCIPAL, CustomerAccount

EXTERNAL_ID = "eco-test-external-id"
REQUIREMENT_NAMES = [name for name in v.ROLE_CHECKS if name.startswith("Report ") and name != v.DATA]


def check(role_arn: str, *, external_id: str = EXTERNAL_ID, bucket: str = "acme-cur", **options) -> dict[str, Item]:
    items = AwsVerifier(**options).check_role(parse_role_arn(role_arn), external_id, bucket)
    assert [item.name for item in items] == list(v.ROLE_CHECKS)  # always the whole checklist, in order
    return {item.name: item for item in items}


def text(item: Item) -> str:
    return f"{plain(item.detail)} | {plain(item.fix)}"


@pytest.fixture
def role_arn(customer: CustomerAccount) -> str:
    """The customer's stack, launched from our template with this test's external ID."""
    return customer.launch_stack(external_id=EXTERNAL_ID, bucket="acme-cur")


@pytest.fixture
def delivered(aws, customer: CustomerAccount) -> None:
    aws.deliver_report(customer.account_id, "eco-cur")


def test_a_ready_account_passes_every_check(customer, role_arn, delivered):
    results = check(role_arn)
    assert {name: item.status for name, item in results.items() if item.status is not Status.PASS} == {}
    assert "eco-cur" in text(results[v.REPORT]) and "s3://acme-cur/cur/eco-cur/" in text(results[v.REPORT])
    assert not any(item.holds_step for item in results.values())


def test_before_the_first_delivery_the_data_lines_are_pending_and_do_not_hold_the_step(customer, role_arn):
    results = check(role_arn)
    for name in (v.DELIVERY, v.DATA, v.READING):
        assert results[name].status is Status.PENDING and not results[name].holds_step, name
    assert "24 hours" in text(results[v.DATA])
    assert not any(item.holds_step for item in results.values())


# --- AssumeRole -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cause", ["wrong-external-id", "no-such-role", "other-principal"])
def test_assume_role_refused_names_the_three_causes(customer, cause):
    if cause == "no-such-role":
        arn = f"arn:aws:iam::{customer.account_id}:role/eco/NotThere"
    elif cause == "other-principal":
        arn = customer.launch_stack(external_id=EXTERNAL_ID, bucket="acme-cur", principal="arn:aws:iam::999999999999:role/SomeoneElse")
    else:
        arn = customer.launch_stack(external_id="eco-some-other-connection", bucket="acme-cur")
    results = check(arn)
    assert results[v.ASSUME].status is Status.FAIL
    for words in ("does not exist", "trust policy names another principal", "external ID differs"):
        assert words in text(results[v.ASSUME])
    assert all(results[name].status is Status.PENDING for name in v.ROLE_CHECKS if name != v.ASSUME)


def test_a_trust_policy_without_the_external_id_condition_is_a_failure(customer, role_arn):
    customer.update_trust_policy(
        role_arn,
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": BOT_PRINCIPAL}, "Action": "sts:AssumeRole"}]},
    )
    results = check(role_arn)
    assert results[v.ASSUME].status is Status.PASS  # with the ID it works: that alone proves nothing
    assert results[v.NO_EXTERNAL_ID].status is Status.FAIL
    assert "confused-deputy" in text(results[v.NO_EXTERNAL_ID]) and EXTERNAL_ID in text(results[v.NO_EXTERNAL_ID])


# --- the account and its organization --------------------------------------------------------------


def test_a_standalone_account_passes(customer, role_arn):
    item = check(role_arn)[v.ORGANIZATION]
    assert item.status is Status.PASS and "Not in an organization" in text(item)


def test_the_management_account_passes(customer, role_arn):
    customer.create_organization()
    item = check(role_arn)[v.ORGANIZATION]
    assert item.status is Status.PASS and "management account" in text(item)


def test_a_member_account_is_a_warning_that_says_when_it_is_fine(customer, role_arn):
    management = CustomerAccount.open("444455556666")
    management.create_organization()
    customer.join_organization(management.account_id)
    item = check(role_arn)[v.ORGANIZATION]
    assert item.status is Status.WARN
    assert "444455556666" in text(item) and "Fine when" in text(item)
    assert not item.holds_step


def test_a_role_that_may_not_describe_the_organization_is_a_warning(customer, role_arn):
    customer.put_role_policy(role_arn, "eco-billing-read", _billing_policy(without="organizations:DescribeOrganization"))
    item = check(role_arn)[v.ORGANIZATION]
    assert item.status is Status.WARN and "DescribeOrganization" in text(item)


def test_the_account_must_match_the_arn():
    """AWS itself never lets a role act in another account than its ARN's, so this path is played by a stub."""
    from botocore.stub import Stubber

    verifier = AwsVerifier()
    sts = verifier._client("sts")
    organizations = verifier._client("organizations")
    clients = {"sts": sts, "organizations": organizations}
    verifier._client = lambda service, credentials=None, region=None: clients[service]  # type: ignore[method-assign]
    with Stubber(sts) as sts_stub, Stubber(organizations) as org_stub:
        sts_stub.add_response("get_caller_identity", {"Account": "999999999999", "Arn": "arn:aws:sts::999999999999:assumed-role/r/s", "UserId": "u"})
        org_stub.add_client_error("describe_organization", "AWSOrganizationsNotInUseException", "not in use", 400)
        board = v.Board(v.ROLE_CHECKS)
        verifier._account(board, {}, parse_role_arn("arn:aws:iam::111122223333:role/eco/R"))
    item = {i.name: i for i in board.items()}[v.ACCOUNT]
    assert item.status is Status.FAIL and "999999999999" in text(item) and "111122223333" in text(item)


# --- the report --------------------------------------------------------------------------------------


def test_no_report_for_the_bucket_lists_the_reports_that_exist(aws, role_arn):
    customer = CustomerAccount.open()
    customer.delete_report("eco-cur")
    customer.create_bucket("other-bucket")
    customer.create_report("finance", "other-bucket", "reports")
    results = check(role_arn)
    assert results[v.REPORT].status is Status.FAIL
    assert "'finance' → s3://other-bucket/reports" in text(results[v.REPORT])
    assert all(results[name].status is Status.PENDING for name in REQUIREMENT_NAMES)


def test_a_bucket_fed_only_by_a_cur_2_export_is_explained(aws, role_arn):
    customer = CustomerAccount.open()
    customer.delete_report("eco-cur")
    customer.create_export("finance-cur2", "acme-cur")
    item = check(role_arn)[v.REPORT]
    assert item.status is Status.FAIL
    assert "CUR 2.0 export finance-cur2" in text(item) and "legacy" in text(item)


def test_every_report_setting_eco_needs_is_checked_with_its_fix(aws, role_arn):
    customer = CustomerAccount.open()
    customer.delete_report("eco-cur")
    customer.create_report(
        "eco-cur", "acme-cur", "cur", time_unit="DAILY", resources=False, refresh=False, athena=False,
        fmt="textORcsv", versioning="CREATE_NEW_REPORT", region="eu-west-1",
    )  # fmt: skip
    results = check(role_arn)
    assert results[v.REPORT].status is Status.PASS
    for name in REQUIREMENT_NAMES:
        assert results[name].status is Status.FAIL, name
        assert plain(results[name].fix), name
    assert "daily" in text(results["Report is hourly"])
    assert "eu-west-1" in text(results["Report is delivered in us-east-1"])


def test_the_report_that_is_set_up_for_eco_is_the_one_judged(aws, role_arn):
    customer = CustomerAccount.open()
    customer.create_report("old-daily", "acme-cur", "legacy", time_unit="DAILY", athena=False, fmt="textORcsv", versioning="CREATE_NEW_REPORT")
    results = check(role_arn)
    assert all(results[name].status is Status.PASS for name in REQUIREMENT_NAMES)
    assert "old-daily" in text(results[v.REPORT])


def test_a_role_that_may_not_read_report_definitions_fails(customer, role_arn):
    customer.put_role_policy(role_arn, "eco-billing-read", _billing_policy(without="cur:DescribeReportDefinitions"))
    item = check(role_arn)[v.REPORT]
    assert item.status is Status.FAIL and "cur:DescribeReportDefinitions" in text(item)


# --- the bucket policy and delivery -----------------------------------------------------------------


def test_a_bucket_without_a_policy_fails_with_the_statement_to_add(aws, customer, role_arn):
    customer.session.client("s3").delete_bucket_policy(Bucket="acme-cur")
    aws.deliver_report(customer.account_id, "eco-cur")
    results = check(role_arn)
    policy = results[v.BUCKET_POLICY]
    assert policy.status is Status.FAIL
    statement = json.loads(plain(policy.fix).split("add this statement: ", 1)[1])
    assert statement["Principal"] == {"Service": "billingreports.amazonaws.com"}
    assert "arn:aws:s3:::acme-cur/*" in statement["Resource"]
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == customer.account_id
    # AWS's own delivery failed for the same reason, and says so.
    assert results[v.DELIVERY].status is Status.FAIL and "ERROR_PERMISSIONS" in text(results[v.DELIVERY])


def test_a_policy_that_forgets_put_object_fails(customer, role_arn):
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "billingreports.amazonaws.com"},
        "Action": ["s3:GetBucketAcl", "s3:GetBucketPolicy"],
        "Resource": "arn:aws:s3:::acme-cur",
    }
    customer.put_bucket_policy("acme-cur", {"Version": "2012-10-17", "Statement": [statement]})
    item = check(role_arn)[v.BUCKET_POLICY]
    assert item.status is Status.FAIL and "s3:PutObject" in text(item)


def test_a_role_that_may_not_read_the_bucket_policy_is_a_warning(customer, role_arn):
    customer.put_role_policy(role_arn, "eco-cur-bucket-read", _bucket_policy("s3:ListBucket", "s3:GetObject"))
    item = check(role_arn)[v.BUCKET_POLICY]
    assert item.status is Status.WARN and "s3:GetBucketPolicy" in text(item)


# --- listing, reading, data ---------------------------------------------------------------------------


def test_a_stack_launched_for_another_bucket_cannot_list_and_says_which_parameter(aws, customer):
    customer.create_bucket("someone-elses")
    arn = customer.launch_stack(external_id=EXTERNAL_ID, bucket="someone-elses")
    item = check(arn)[v.LISTING]
    assert item.status is Status.FAIL and "CurBucketName" in text(item) and "acme-cur" in text(item)


def test_a_role_that_may_list_but_not_read_fails_on_reading(customer, role_arn, delivered):
    customer.put_role_policy(role_arn, "eco-cur-bucket-read", _bucket_policy("s3:ListBucket", "s3:GetBucketPolicy"))
    results = check(role_arn)
    assert results[v.LISTING].status is Status.PASS and results[v.DATA].status is Status.PASS
    assert results[v.READING].status is Status.FAIL and "s3:GetObject" in text(results[v.READING])


def test_data_reported_delivered_but_missing_fails(aws, customer, role_arn, delivered):
    s3 = customer.session.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="acme-cur"):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket="acme-cur", Key=obj["Key"])
    item = check(role_arn)[v.DATA]
    assert item.status is Status.FAIL and "nothing under" in text(item)


# --- Cost Explorer ----------------------------------------------------------------------------------


def test_cost_explorer_denied_is_a_warning(customer, role_arn):
    customer.put_role_policy(role_arn, "eco-billing-read", _billing_policy(without="ce:GetCostAndUsage"))
    item = check(role_arn)[v.COST_EXPLORER]
    assert item.status is Status.WARN and not item.holds_step


# --- AWS throttling or not answering -----------------------------------------------------------------


def test_a_throttled_check_is_pending_with_the_reason_never_a_pass(aws, customer, role_arn):
    aws.throttle("cur", "DescribeReportDefinitions", times=20)
    item = check(role_arn)[v.REPORT]
    assert item.status is Status.PENDING and item.holds_step
    assert "throttled" in text(item)


def test_a_check_still_running_at_the_deadline_is_pending_and_the_rest_is_reported(aws, customer, role_arn):
    aws.delay("ce", "GetCostAndUsage", 3)
    results = check(role_arn, deadline=1.0)
    assert results[v.COST_EXPLORER].status is Status.PENDING
    assert "within 1 seconds" in text(results[v.COST_EXPLORER])
    assert results[v.ASSUME].status is Status.PASS and results[v.REPORT].status is Status.PASS


def test_progress_shows_lines_finishing_while_others_run(aws, customer, role_arn):
    aws.delay("ce", "GetCostAndUsage", 1)
    seen: list[list[Item]] = []
    AwsVerifier().check_role(parse_role_arn(role_arn), EXTERNAL_ID, "acme-cur", seen.append)
    assert seen, "no progress was reported"
    last = {item.name: item.status for item in seen[-1]}
    assert last[v.COST_EXPLORER] is Status.CURRENT and last[v.REPORT] is Status.PASS


# --- helpers -----------------------------------------------------------------------------------------


def _bucket_policy(*actions: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": [a for a in actions if a != "s3:GetObject"], "Resource": "arn:aws:s3:::acme-cur"},
            *([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-cur/*"}] if "s3:GetObject" in actions else []),
        ],
    }


def _billing_policy(*, without: str) -> dict:
    actions = [
        "cur:DescribeReportDefinitions", "ce:GetCostAndUsage", "organizations:DescribeOrganization",
        "bcm-data-exports:ListExports", "bcm-data-exports:GetExport",
    ]  # fmt: skip
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [a for a in actions if a != without], "Resource": "*"}]}

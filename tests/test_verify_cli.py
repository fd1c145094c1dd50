"""`eco-bot verify` and `eco-bot template publish` as an operator runs them: real subprocesses reaching the
fake AWS through boto3's standard variables.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3

from bot.aws.template import template_text
from bot.sandbox.world import CustomerAccount
from tests.test_cli import assert_one_line_error, eco_bot

EXTERNAL_ID = "eco-cli-external-id"


def _verify(tmp_path: Path, role_arn: str, *extra: str, bucket: str = "acme-cur"):
    return eco_bot(tmp_path, "verify", "--bucket", bucket, "--role-arn", role_arn, "--external-id", EXTERNAL_ID, *extra)


def test_verify_passes_a_ready_account_with_exit_0(tmp_path, aws, customer: CustomerAccount):
    aws.deliver_report(customer.account_id, "eco-cur")
    role_arn = customer.launch_stack(external_id=EXTERNAL_ID, bucket="acme-cur")

    result = _verify(tmp_path, role_arn)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Bucket step" in result.stdout and "Role step" in result.stdout
    assert re.search(r"^  \[PASS\] +Eco can assume the role with this connection's external ID: Assumed", result.stdout, re.M)
    assert "[FAIL]" not in result.stdout and "Every required check passed." in result.stdout


def test_verify_exits_1_and_prints_the_fix_when_a_check_fails(tmp_path, customer: CustomerAccount):
    role_arn = customer.launch_stack(external_id="eco-another-connection", bucket="acme-cur")

    result = _verify(tmp_path, role_arn)

    assert result.returncode == 1
    assert "[FAIL]" in result.stdout and "fix: 1) The role does not exist" in result.stdout


def test_verify_json_lists_every_check(tmp_path, customer: CustomerAccount):
    role_arn = customer.launch_stack(external_id=EXTERNAL_ID, bucket="acme-cur")

    result = _verify(tmp_path, role_arn, "--json")

    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"] is True
    by_name = {check["name"]: check for check in report["checks"]}
    assert by_name["Report data has arrived"] == {
        "step": "role",
        "name": "Report data has arrived",
        "status": "pending",
        "required": False,
        "found": by_name["Report data has arrived"]["found"],
        "fix": "",
    }
    assert {check["step"] for check in report["checks"]} == {"bucket", "role"}


def test_verify_refuses_bad_arguments_in_one_line(tmp_path, aws):
    result = eco_bot(tmp_path, "verify", "--bucket", "acme-cur", "--role-arn", "arn:aws-cn:iam::111122223333:role/Eco", "--external-id", EXTERNAL_ID)
    assert_one_line_error(result, "--role-arn", "partition")
    result = eco_bot(tmp_path, "verify", "--bucket", "acme-cur", "--role-arn", "arn:aws:iam::111122223333:role/Eco", "--external-id", "x")
    assert_one_line_error(result, "--external-id")
    assert result.returncode == 2


def test_terminal_output_cannot_carry_escape_sequences():
    """What AWS returns (names, messages) is printed, never interpreted by the terminal."""
    from bot.engine.content import Code, Item, Status, rich
    from bot.terminal.render import checklist

    lines = checklist([Item("x\x1b]0;title\x07", Status.FAIL, rich("Found ", Code("evil\x1b[2J\u202e")), rich("fix\rit"))])
    assert not any(ch in "".join(lines) for ch in "\x1b\x07\r\u202e")
    assert "evil?[2J?" in lines[0] and "fix?it" in lines[1]


def test_template_publish_uploads_it_and_prints_the_url(tmp_path, aws):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="eco-templates")  # the operator's own bucket

    result = eco_bot(tmp_path, "template", "publish", "--bucket", "eco-templates", "--prefix", "connect/")

    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("https://eco-templates.s3.us-east-1.amazonaws.com/connect/eco-connect-") and url.endswith(".yaml")
    key = url.split(".amazonaws.com/", 1)[1]
    stored = boto3.client("s3", region_name="us-east-1").get_object(Bucket="eco-templates", Key=key)["Body"].read().decode()
    assert stored == template_text()
    assert "ECO_TEMPLATE_URL" in result.stderr
    # The same template publishes to the same name: links already handed out keep working.
    assert eco_bot(tmp_path, "template", "publish", "--bucket", "eco-templates", "--prefix", "connect").stdout.strip() == url


def test_template_publish_to_a_missing_bucket_says_so(tmp_path, aws):
    result = eco_bot(tmp_path, "template", "publish", "--bucket", "no-such-bucket-here")
    assert_one_line_error(result, "no-such-bucket-here", "NoSuchBucket")

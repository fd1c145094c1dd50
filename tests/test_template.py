"""Tests for the customer CloudFormation template and its quick-create link (bot.aws.template).

Covers: cfn-lint cleanliness, parameter names shared by link and template, the
parameters' AllowedPatterns, URL encoding, stack names, and a moto round trip in
which a "customer" account launches the stack and the resulting role is inspected.
No network beyond moto's in-process mock.
"""

from __future__ import annotations

import ast
import json
import re
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
import pytest
import yaml
from cfnlint.api import ManualArgs, lint
from moto import mock_aws

from bot.aws.template import (
    PARAMETER_NAMES,
    ROLE_ARN_OUTPUT,
    STACK_NAME_PATTERN,
    quick_create_url,
    stack_name_for,
    template_text,
)

BOT_ACCOUNT = "123456789012"  # moto's default account plays the Eco bot
CUSTOMER_ACCOUNT = "111122223333"
BOT_ROLE_ARN = f"arn:aws:iam::{BOT_ACCOUNT}:role/eco-bot"

# Exactly what the role may do; anything added to the template must be added here
# deliberately, so that a broadened policy never slips through review.
EXPECTED_BUCKET_ACTIONS = {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketPolicy", "s3:GetObject"}
EXPECTED_BILLING_ACTIONS = {
    "cur:DescribeReportDefinitions",
    "ce:GetCostAndUsage",
    "ce:GetCostForecast",
    "ce:GetReservationUtilization",
    "ce:GetSavingsPlansUtilization",
    "ce:GetDimensionValues",
    "organizations:DescribeOrganization",
    "bcm-data-exports:ListExports",
    "bcm-data-exports:GetExport",
    "savingsplans:DescribeSavingsPlans",
    "ec2:DescribeReservedInstances",
    "rds:DescribeReservedDBInstances",
    "redshift:DescribeReservedNodes",
    "elasticache:DescribeReservedCacheNodes",
    "es:DescribeReservedElasticsearchInstances",
    "dynamodb:DescribeReservedCapacity",
}


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags (!Ref, !Sub, ...) into their long form."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(template_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _assert_read_only(actions: list[str]) -> None:
    assert "s3:PutObject" not in actions
    for action in actions:
        service, _, verb = action.partition(":")
        assert service and verb, action
        assert "*" not in action, f"wildcard action {action}"
        assert not verb.startswith(("Put", "Delete", "Create", "Update", "Attach", "Detach")), action
        # Stricter than the deny-list above: every verb must be a plain read.
        assert verb.startswith(("Get", "List", "Describe")), action


# --- the template itself ---------------------------------------------------


def test_template_passes_cfn_lint():
    matches = lint(template_text(), config=ManualArgs(regions=["us-east-1"]))
    assert matches == [], "\n".join(str(m) for m in matches)


def test_parameter_names_match_template(template):
    assert set(PARAMETER_NAMES.as_tuple()) == set(template["Parameters"])
    assert len(PARAMETER_NAMES.as_tuple()) == len(template["Parameters"])


def test_role_arn_output_is_the_role(template):
    output = template["Outputs"][ROLE_ARN_OUTPUT]
    assert "paste this into the Slack thread" in output["Description"]
    (logical_id,) = template["Resources"]
    assert output["Value"] == {"Fn::GetAtt": [logical_id, "Arn"]}


def test_role_trust_and_policies_are_minimal(template):
    (role,) = template["Resources"].values()
    assert role["Type"] == "AWS::IAM::Role"
    props = role["Properties"]
    assert "RoleName" not in props  # let CloudFormation name it: no collisions between stacks
    assert props["Path"] == "/eco/"
    assert "ManagedPolicyArns" not in props

    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Effect"] == "Allow"
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Principal"] == {"AWS": {"Ref": PARAMETER_NAMES.trusted_principal_arn}}
    assert trust["Condition"] == {
        "StringEquals": {"sts:ExternalId": {"Ref": PARAMETER_NAMES.external_id}}
    }

    statements = [s for p in props["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert all(s["Effect"] == "Allow" for s in statements)
    by_resource: dict[str, set[str]] = {}
    for statement in statements:
        resource = statement["Resource"]
        key = resource if isinstance(resource, str) else resource["Fn::Sub"]
        by_resource.setdefault(key, set()).update(_actions(statement))
        _assert_read_only(_actions(statement))
    assert by_resource == {
        "arn:${AWS::Partition}:s3:::${CurBucketName}": {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketPolicy"},
        "arn:${AWS::Partition}:s3:::${CurBucketName}/*": {"s3:GetObject"},
        "*": EXPECTED_BILLING_ACTIONS,
    }


def _pattern(template: dict, name: str) -> re.Pattern[str]:
    # CloudFormation evaluates AllowedPattern as a Java regex, where \w is ASCII-only.
    return re.compile(template["Parameters"][name]["AllowedPattern"], re.ASCII)


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        (PARAMETER_NAMES.external_id, "eco-42-3f9a1c", True),
        (PARAMETER_NAMES.external_id, "a:b/c=d+e,f.g@h_i-j", True),
        (PARAMETER_NAMES.external_id, "x" * 1224, True),
        (PARAMETER_NAMES.external_id, "x", False),
        (PARAMETER_NAMES.external_id, "x" * 1225, False),
        (PARAMETER_NAMES.external_id, "has space", False),
        (PARAMETER_NAMES.external_id, "é-accent", False),
        (PARAMETER_NAMES.cur_bucket_name, "acme-cur", True),
        (PARAMETER_NAMES.cur_bucket_name, "a.b", True),
        (PARAMETER_NAMES.cur_bucket_name, "a" * 63, True),
        (PARAMETER_NAMES.cur_bucket_name, "a" * 64, False),
        (PARAMETER_NAMES.cur_bucket_name, "ab", False),
        (PARAMETER_NAMES.cur_bucket_name, "Acme-Cur", False),
        (PARAMETER_NAMES.cur_bucket_name, "-acme", False),
        (PARAMETER_NAMES.cur_bucket_name, "acme.", False),
        (PARAMETER_NAMES.cur_bucket_name, "acme_cur", False),
        (PARAMETER_NAMES.trusted_principal_arn, BOT_ROLE_ARN, True),
        (PARAMETER_NAMES.trusted_principal_arn, "arn:aws:iam::123456789012:root", True),
        (PARAMETER_NAMES.trusted_principal_arn, "arn:aws:iam::123456789012:role/svc/eco/eco-bot", True),
        (PARAMETER_NAMES.trusted_principal_arn, "arn:aws:iam::123456789012:user/eco", True),
        (PARAMETER_NAMES.trusted_principal_arn, "arn:aws-cn:iam::123456789012:role/eco-bot", False),
        (PARAMETER_NAMES.trusted_principal_arn, "arn:aws:iam::12345678901:role/eco-bot", False),
        (PARAMETER_NAMES.trusted_principal_arn, "arn:aws:iam::123456789012:role/", False),
        (PARAMETER_NAMES.trusted_principal_arn, "arn:aws:iam::123456789012:group/eco", False),
        (PARAMETER_NAMES.trusted_principal_arn, "arn:aws:sts::123456789012:assumed-role/eco/x", False),
        (PARAMETER_NAMES.trusted_principal_arn, "*", False),
    ],
)
def test_allowed_patterns(template, name, value, ok):
    # moto ignores AllowedPattern, so the patterns are checked here directly.
    assert bool(_pattern(template, name).fullmatch(value)) is ok


# --- quick-create link -----------------------------------------------------


def _fragment_query(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    route, _, query = parts.fragment.partition("?")
    assert route == "/stacks/quickcreate"
    return dict(parse_qsl(query, keep_blank_values=True, strict_parsing=True))


def test_quick_create_url_shape(template):
    url = quick_create_url(
        template_url="https://eco-public.s3.amazonaws.com/connect/template.yaml",
        stack_name="eco-connect-7",
        bucket="acme-cur",
        external_id="eco-7-abc",
        trusted_principal_arn=BOT_ROLE_ARN,
    )
    assert url.startswith(
        "https://us-east-1.console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/quickcreate?"
    )
    query = _fragment_query(url)
    assert query == {
        "templateURL": "https://eco-public.s3.amazonaws.com/connect/template.yaml",
        "stackName": "eco-connect-7",
        "param_ExternalId": "eco-7-abc",
        "param_CurBucketName": "acme-cur",
        "param_TrustedPrincipalArn": BOT_ROLE_ARN,
    }
    # The link and the template agree on every parameter name.
    params = {k.removeprefix("param_") for k in query if k.startswith("param_")}
    assert params == set(template["Parameters"])


def test_quick_create_url_encodes_every_value():
    odd_template_url = "https://example.com/t.yaml?version=2&sig=a+b/c=="
    odd_external_id = "eco:1/a=b+c,d.e@f&g#h?i j"
    url = quick_create_url(
        template_url=odd_template_url,
        stack_name="eco-connect-1",
        bucket="acme.cur-1",
        external_id=odd_external_id,
        trusted_principal_arn=BOT_ROLE_ARN,
    )
    _, _, query = url.partition("#/stacks/quickcreate?")
    pairs = [p.split("=") for p in query.split("&")]
    # Each pair splits into exactly key and value: no raw "&" or "=" leaked from values.
    assert all(len(p) == 2 for p in pairs), pairs
    values = dict(pairs)
    for raw in values.values():
        assert not set(raw) & set(":/?#&=+ @,"), raw
    assert unquote(values["templateURL"]) == odd_template_url
    assert unquote(values["param_ExternalId"]) == odd_external_id
    assert unquote(values["param_TrustedPrincipalArn"]) == BOT_ROLE_ARN
    assert values["param_CurBucketName"] == "acme.cur-1"


def test_quick_create_url_rejects_invalid_stack_name():
    with pytest.raises(ValueError):
        quick_create_url(
            template_url="https://example.com/t.yaml",
            stack_name="1-starts-with-digit",
            bucket="acme-cur",
            external_id="eco-1",
            trusted_principal_arn=BOT_ROLE_ARN,
        )


# --- stack names -------------------------------------------------------------


def _assert_valid_stack_name(name: str) -> None:
    assert STACK_NAME_PATTERN.fullmatch(name), name
    assert len(name) <= 128
    assert "--" not in name and not name.endswith("-")
    assert name == name.lower()


@pytest.mark.parametrize(
    ("connection_id", "label", "expected"),
    [
        (7, None, "eco-connect-7"),
        (7, "", "eco-connect-7"),
        (7, "Acme Prod", "eco-connect-acme-prod-7"),
        (7, "  Acme -- Prod / EU!  ", "eco-connect-acme-prod-eu-7"),
        (7, "Café Zürich", "eco-connect-cafe-zurich-7"),
        (7, "日本の請求", "eco-connect-7"),
        (7, "!!!---???", "eco-connect-7"),
        (0, "x", "eco-connect-x-0"),
    ],
)
def test_stack_name_for(connection_id, label, expected):
    name = stack_name_for(connection_id, label)
    assert name == expected
    _assert_valid_stack_name(name)


def test_stack_name_for_long_label_keeps_id():
    name = stack_name_for(123456, "production " * 40)
    _assert_valid_stack_name(name)
    assert len(name) <= 128
    assert name.startswith("eco-connect-production-")
    assert name.endswith("-123456")


@pytest.mark.parametrize("cut", range(0, 12))
def test_stack_name_for_truncation_never_leaves_double_hyphen(cut):
    # Place a separator exactly where truncation lands, for a range of offsets.
    label = "a" * (128 - len("eco-connect--9") - cut) + " " + "b" * 50
    _assert_valid_stack_name(stack_name_for(9, label))


def test_stack_name_for_huge_id():
    biggest = int("9" * (128 - len("eco-connect-")))
    assert stack_name_for(biggest, "label") == f"eco-connect-{biggest}"
    with pytest.raises(ValueError):
        stack_name_for(biggest * 10 + 9, None)


@pytest.mark.parametrize("bad", [-1, True, 1.5, "7"])
def test_stack_name_for_rejects_bad_ids(bad):
    with pytest.raises(ValueError):
        stack_name_for(bad, "x")


# --- moto round trip -------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch):
    """Fake credentials and region so nothing can reach real AWS, then an in-process moto."""
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    with mock_aws():
        yield


def _customer_session() -> boto3.Session:
    # moto's assumed-role credentials act in the account named by the role ARN,
    # which gives the test a second, "customer" account.
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{CUSTOMER_ACCOUNT}:role/setup", RoleSessionName="customer-setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )


def _policy_document(document: dict | str) -> dict:
    # Real IAM (and boto3) hand back a decoded dict. moto 5.2 stores the inline
    # Policies of a CloudFormation-created role as the Python dict itself, so
    # GetRolePolicy returns its repr() (single quotes, not JSON) and boto3 leaves
    # it as a string. Accept both so the test keeps working if moto is fixed.
    if isinstance(document, dict):
        return document
    try:
        return json.loads(document)
    except ValueError:
        return ast.literal_eval(document)


def test_customer_launches_stack_in_moto(aws):
    assert boto3.client("sts").get_caller_identity()["Account"] == BOT_ACCOUNT
    customer = _customer_session()
    assert customer.client("sts").get_caller_identity()["Account"] == CUSTOMER_ACCOUNT
    customer.client("s3").create_bucket(Bucket="acme-cur")

    cfn = customer.client("cloudformation")
    stack_name = stack_name_for(42, "Acme")
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=template_text(),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[
            {"ParameterKey": PARAMETER_NAMES.external_id, "ParameterValue": "eco-42-3f9a1c"},
            {"ParameterKey": PARAMETER_NAMES.cur_bucket_name, "ParameterValue": "acme-cur"},
            {"ParameterKey": PARAMETER_NAMES.trusted_principal_arn, "ParameterValue": BOT_ROLE_ARN},
        ],
    )
    (stack,) = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    role_arn = outputs[ROLE_ARN_OUTPUT]
    assert role_arn.startswith(f"arn:aws:iam::{CUSTOMER_ACCOUNT}:role/eco/")

    iam = customer.client("iam")
    role_name = role_arn.rsplit("/", 1)[1]
    role = iam.get_role(RoleName=role_name)["Role"]
    assert role["Path"] == "/eco/"
    assert role["Arn"] == role_arn
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Effect"] == "Allow"
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Principal"] == {"AWS": BOT_ROLE_ARN}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "eco-42-3f9a1c"}}

    assert iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == []
    actions: set[str] = set()
    resources: set[str] = set()
    for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = _policy_document(
            iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
        )
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            _assert_read_only(_actions(statement))
            actions.update(_actions(statement))
            resources.add(statement["Resource"])
    assert actions == EXPECTED_BUCKET_ACTIONS | EXPECTED_BILLING_ACTIONS
    assert resources == {"arn:aws:s3:::acme-cur", "arn:aws:s3:::acme-cur/*", "*"}

    # The role was created in the customer's account, not the bot's.
    bot_roles = boto3.client("iam").list_roles()["Roles"]
    assert role_arn not in {r["Arn"] for r in bot_roles}

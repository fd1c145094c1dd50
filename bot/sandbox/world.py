"""A fake AWS for the tests and the demo: the bot's account and customers' accounts, on loopback, behaving like AWS.

`AwsWorld` runs moto behind the gateway (bot/sandbox/gateway.py: AssumeRole trust policies, role policies,
faults, call log) and the billing fake (bot/sandbox/billing.py: cur and bcm-data-exports, which moto lacks).
The bot reaches them only through boto3's standard variables (`environment()`), exactly as it would reach AWS.

`CustomerAccount` makes the customer's resources the way a customer makes them, through boto3 with the
customer's own credentials (an IAM user of that account): a bucket and its policy, a CloudFormation stack from
the project's template, a Cost and Usage Report, a CUR 2.0 export, an organization.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from dataclasses import dataclass
from datetime import datetime

import boto3
from moto.iam.models import iam_backends
from moto.organizations import utils as organizations_utils
from moto.organizations.models import FakeAccount, organizations_backends

from bot.aws.template import PARAMETER_NAMES, ROLE_ARN_OUTPUT, template_text
from bot.sandbox.billing import BillingFake
from bot.sandbox.gateway import AwsGateway, Call

BOT_ACCOUNT = "123456789012"  # moto's default account: the identity the bot runs as
CUSTOMER_ACCOUNT = "111122223333"
BOT_PRINCIPAL = f"arn:aws:iam::{BOT_ACCOUNT}:user/moto"  # what the bot derives from moto's caller identity
# An access key moto does not know: it acts as moto's default user in BOT_ACCOUNT, with no policy restricting it.
BOT_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing-bot-key", "AWS_SECRET_ACCESS_KEY": "testing-bot-secret"}
REGION = "us-east-1"


class AwsWorld:
    """moto behind the gateway, plus the billing fake: one per test session (reset() between tests) or per demo."""

    def __init__(self) -> None:
        self.gateway = AwsGateway()
        self.billing = BillingFake()
        self.url = ""

    def start(self) -> AwsWorld:
        self.url = self.gateway.start()
        self.billing.start()
        return self

    def stop(self) -> None:
        self.billing.stop()
        self.gateway.stop()

    def reset(self) -> None:
        """Empty every account, forget faults and calls."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(request, timeout=10).read()
        # moto's reset keeps the member -> management account map of Organizations.
        organizations_backends.master_accounts.clear()
        self.gateway.reset()
        self.billing.reset()

    def environment(self) -> dict[str, str]:
        """boto3's standard variables: endpoints (one per fake) and the bot's credentials."""
        return {
            "AWS_ENDPOINT_URL": self.gateway.url,
            # botocore names these after the service ids "Cost and Usage Report Service" and "BCM Data Exports".
            "AWS_ENDPOINT_URL_COST_AND_USAGE_REPORT_SERVICE": self.billing.url,
            "AWS_ENDPOINT_URL_BCM_DATA_EXPORTS": self.billing.url,
            **BOT_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
        }

    # --- conveniences over both fakes ----------------------------------------------------------------

    def calls(self) -> list[Call]:
        """Every signed call either fake received, in order of arrival."""
        return sorted(self.gateway.calls() + self.billing.calls(), key=lambda call: call.at)

    def clear(self) -> None:
        self.gateway.clear()
        self.billing.clear()

    def _fake_for(self, service: str):
        return self.billing if service in ("cur", "bcm-data-exports") else self.gateway

    def throttle(self, service: str, action: str | None = None, times: int = 1) -> None:
        self._fake_for(service).throttle(service, action, times)

    def delay(self, service: str, action: str | None, seconds: float) -> None:
        self._fake_for(service).delay(service, action, seconds)

    def latency(self, seconds: float) -> None:
        self.gateway.latency(seconds)
        self.billing.latency(seconds)

    def deliver_report(self, account_id: str, report_name: str, at: datetime | None = None) -> str:
        return self.billing.deliver(account_id, report_name, at)


def _role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[1]


@dataclass
class CustomerAccount:
    """The account being connected, acting through its own credentials (not the bot's)."""

    session: boto3.Session
    account_id: str = CUSTOMER_ACCOUNT

    @classmethod
    def open(cls, account_id: str = CUSTOMER_ACCOUNT) -> CustomerAccount:
        """An IAM user with access keys in `account_id`: its keys act in that account, like a real customer's."""
        iam = boto3.client("iam", region_name=REGION)

        # moto makes the user in the account this header names (the bot's own account otherwise).
        def in_account(request, **_) -> None:
            request.headers["x-moto-account-id"] = account_id

        iam.meta.events.register("before-sign.iam.*", in_account)
        user = f"customer-admin-{secrets.token_hex(3)}"
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        session = boto3.Session(
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
        )
        return cls(session=session, account_id=account_id)

    # --- S3 -------------------------------------------------------------------------------------------

    def create_bucket(self, name: str, region: str = REGION) -> None:
        s3 = self.session.client("s3", region_name=region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})

    def put_bucket_policy(self, bucket: str, document: dict | str) -> None:
        text = document if isinstance(document, str) else json.dumps(document)
        self.session.client("s3").put_bucket_policy(Bucket=bucket, Policy=text)

    def allow_cur_delivery(self, bucket: str) -> None:
        """The bucket policy AWS documents for Cost and Usage Reports."""
        condition = {
            "StringEquals": {
                "aws:SourceArn": f"arn:aws:cur:us-east-1:{self.account_id}:definition/*",
                "aws:SourceAccount": self.account_id,
            }
        }
        principal = {"Service": "billingreports.amazonaws.com"}
        self.put_bucket_policy(bucket, {
            "Version": "2008-10-17",
            "Id": "Policy1335892530063",
            "Statement": [
                {"Sid": "Stmt1335892150622", "Effect": "Allow", "Principal": principal,
                 "Action": ["s3:GetBucketAcl", "s3:GetBucketPolicy"], "Resource": f"arn:aws:s3:::{bucket}", "Condition": condition},
                {"Sid": "Stmt1335892526596", "Effect": "Allow", "Principal": principal,
                 "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*", "Condition": condition},
            ],
        })

    # --- the stack and its role ------------------------------------------------------------------------

    def launch_stack(self, *, external_id: str, bucket: str, principal: str = BOT_PRINCIPAL, name: str = "eco-connect") -> str:
        """Create the stack from the packaged template, as the quick-create link does; return its RoleArn output."""
        cloudformation = self.session.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName=name,
            TemplateBody=template_text(),
            Capabilities=["CAPABILITY_IAM"],
            Parameters=[
                {"ParameterKey": PARAMETER_NAMES.external_id, "ParameterValue": external_id},
                {"ParameterKey": PARAMETER_NAMES.cur_bucket_name, "ParameterValue": bucket},
                {"ParameterKey": PARAMETER_NAMES.trusted_principal_arn, "ParameterValue": principal},
            ],
        )
        outputs = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]
        return next(o["OutputValue"] for o in outputs if o["OutputKey"] == ROLE_ARN_OUTPUT)

    def trust_policy(self, role_arn: str) -> dict:
        role = self.session.client("iam").get_role(RoleName=_role_name(role_arn))["Role"]
        document = role["AssumeRolePolicyDocument"]
        return document if isinstance(document, dict) else json.loads(document)

    def update_trust_policy(self, role_arn: str, document: dict) -> None:
        self.session.client("iam").update_assume_role_policy(RoleName=_role_name(role_arn), PolicyDocument=json.dumps(document))

    def put_role_policy(self, role_arn: str, policy_name: str, document: dict) -> None:
        self.session.client("iam").put_role_policy(
            RoleName=_role_name(role_arn), PolicyName=policy_name, PolicyDocument=json.dumps(document)
        )

    def delete_role_policy(self, role_arn: str, policy_name: str) -> None:
        self.session.client("iam").delete_role_policy(RoleName=_role_name(role_arn), PolicyName=policy_name)

    # --- billing ---------------------------------------------------------------------------------------

    def create_report(
        self,
        name: str = "eco-cur",
        bucket: str = "acme-cur",
        prefix: str = "cur",
        *,
        time_unit: str = "HOURLY",
        resources: bool = True,
        refresh: bool = True,
        athena: bool = True,
        fmt: str = "Parquet",
        versioning: str = "OVERWRITE_REPORT",
        region: str = REGION,
    ) -> dict:
        """A legacy Cost and Usage Report, as the Billing console creates it; returns the definition sent."""
        definition = {
            "ReportName": name,
            "TimeUnit": time_unit,
            "Format": fmt,
            "Compression": "Parquet" if fmt == "Parquet" else "GZIP",
            "AdditionalSchemaElements": ["RESOURCES"] if resources else [],
            "S3Bucket": bucket,
            "S3Prefix": prefix,
            "S3Region": region,
            "AdditionalArtifacts": ["ATHENA"] if athena else [],
            "RefreshClosedReports": refresh,
            "ReportVersioning": versioning,
        }
        self.session.client("cur", region_name="us-east-1").put_report_definition(ReportDefinition=definition)
        return definition

    def delete_report(self, name: str) -> None:
        self.session.client("cur", region_name="us-east-1").delete_report_definition(ReportName=name)

    def create_export(self, name: str, bucket: str, prefix: str = "cur2", *, granularity: str = "HOURLY", resources: bool = True) -> str:
        """A CUR 2.0 export (AWS Data Exports) to `bucket`; returns its ExportArn."""
        query = (
            "SELECT bill_billing_period_start_date, identity_line_item_id, identity_time_interval, "
            "line_item_usage_account_id, line_item_product_code, line_item_resource_id, line_item_unblended_cost "
            "FROM COST_AND_USAGE_REPORT"
        )
        table = {
            "TIME_GRANULARITY": granularity,
            "INCLUDE_RESOURCES": "TRUE" if resources else "FALSE",
            "INCLUDE_SPLIT_COST_ALLOCATION_DATA": "FALSE",
            "INCLUDE_MANUAL_DISCOUNT_COMPATIBILITY": "FALSE",
        }
        export = {
            "Name": name,
            "DataQuery": {"QueryStatement": query, "TableConfigurations": {"COST_AND_USAGE_REPORT": table}},
            "DestinationConfigurations": {
                "S3Destination": {
                    "S3Bucket": bucket,
                    "S3Prefix": prefix,
                    "S3Region": "us-east-1",
                    "S3OutputConfigurations": {
                        "OutputType": "CUSTOM", "Format": "PARQUET", "Compression": "PARQUET", "Overwrite": "OVERWRITE_REPORT",
                    },
                }
            },
            "RefreshCadence": {"Frequency": "SYNCHRONOUS"},
        }
        return self.session.client("bcm-data-exports", region_name="us-east-1").create_export(Export=export)["ExportArn"]

    # --- organizations -----------------------------------------------------------------------------------

    def create_organization(self) -> dict:
        """This account creates an organization and becomes its management account."""
        return self.session.client("organizations").create_organization(FeatureSet="ALL")["Organization"]

    def join_organization(self, management_account_id: str) -> None:
        """This account accepts the management account's invitation and becomes a member.

        moto has no invitations (handshakes): this does in-process what accepting one does, adding the account
        to the management account's ListAccounts (JoinedMethod INVITED) and to moto's member -> management map,
        which DescribeOrganization answers from.
        """
        management = organizations_backends[management_account_id]["aws"]
        if management.org is None:
            raise ValueError(f"account {management_account_id} has no organization: call create_organization() on it first")
        member = FakeAccount(management.org, AccountName=f"member-{self.account_id}", Email=f"aws+{self.account_id}@example.com")
        # FakeAccount made OrganizationAccountAccessRole in a random new account, as for a created account;
        # an invited account gets no such role, so drop the stray account entirely.
        iam_backends.pop(member.id, None)
        member.id, member.joined_method = self.account_id, "INVITED"
        management.accounts.append(member)
        for policy_id in (organizations_utils.DEFAULT_SCP_POLICY_ID, organizations_utils.DEFAULT_RCP_POLICY_ID):
            management.attach_policy(PolicyId=policy_id, TargetId=member.id)
        organizations_backends.master_accounts[self.account_id] = (management_account_id, "aws")

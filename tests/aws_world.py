"""A fake AWS for the tests: a moto server on loopback holding the bot's account and a customer's.

The bot reaches it only through boto3's standard variables (AWS_ENDPOINT_URL and credentials), exactly as
it would reach AWS. The customer's resources are made the way a customer makes them: a bucket, and a
CloudFormation stack launched from the project's own template.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass

import boto3
from moto.server import ThreadedMotoServer

from bot.aws.template import PARAMETER_NAMES, ROLE_ARN_OUTPUT, template_text

BOT_ACCOUNT = "123456789012"  # moto's default account: the identity the bot runs as
CUSTOMER_ACCOUNT = "111122223333"
BOT_PRINCIPAL = f"arn:aws:iam::{BOT_ACCOUNT}:user/moto"  # what the bot derives from moto's caller identity


class MotoServer:
    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self) -> str:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self.url

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(request, timeout=10).read()

    def stop(self) -> None:
        self._server.stop()


@dataclass
class CustomerAccount:
    """The account being connected, acting through its own credentials (not the bot's)."""

    session: boto3.Session
    account_id: str = CUSTOMER_ACCOUNT

    @classmethod
    def open(cls, account_id: str = CUSTOMER_ACCOUNT) -> CustomerAccount:
        # moto hands out credentials that act in the assumed role's account.
        credentials = boto3.client("sts", region_name="us-east-1").assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/customer-admin", RoleSessionName="customer-setup"
        )["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        return cls(session=session, account_id=account_id)

    def create_bucket(self, name: str, region: str = "us-east-1") -> None:
        s3 = self.session.client("s3", region_name=region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})

    def launch_stack(self, *, external_id: str, bucket: str, principal: str = BOT_PRINCIPAL, name: str = "eco-connect") -> str:
        """Create the stack from the packaged template, as the quick-create link does; return its RoleArn output."""
        cloudformation = self.session.client("cloudformation", region_name="us-east-1")
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
        role = self.session.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[1])["Role"]
        document = role["AssumeRolePolicyDocument"]
        return document if isinstance(document, dict) else json.loads(document)

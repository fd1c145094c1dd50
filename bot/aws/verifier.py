"""Checks a customer's answers against AWS with boto3: the bucket with the bot's own identity, the role
by assuming it with the connection's external ID.

Credentials, region and endpoints come from boto3's standard chain (including AWS_ENDPOINT_URL and
AWS_ENDPOINT_URL_<SERVICE>); nothing here names an endpoint. Every call has a bounded timeout and
botocore's standard retries; a check that cannot run says so (pending), never passes by default.
"""

from __future__ import annotations

import logging
import threading

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.engine.content import Code, Item, Status, rich
from bot.engine.identifiers import RoleArn

log = logging.getLogger(__name__)

ECO_REGION = "us-east-1"  # Eco's procedure: the report and its bucket live in us-east-1
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 4})
ROLE_SESSION_SECONDS = 900  # the shortest AssumeRole allows: the bot needs minutes, not hours


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _unreachable(name: str, error: Exception) -> Item:
    return Item(name, Status.PENDING, rich(f"Could not check: AWS did not answer ({type(error).__name__})."), rich("Reply again with the same answer to retry."))


class AwsVerifier:
    """The engine's `Verifier` port, backed by boto3."""

    def __init__(self, *, session: boto3.Session | None = None, trusted_principal_arn: str | None = None):
        self._session = session or boto3.Session()
        self._configured_principal = trusted_principal_arn
        self._derived_principal: str | None = None
        self._lock = threading.Lock()

    def _client(self, service: str, session: boto3.Session | None = None):
        # The region comes from boto3's chain; with none configured, Eco's own region is the sensible default.
        return (session or self._session).client(
            service, region_name=self._session.region_name or ECO_REGION, config=CLIENT_CONFIG
        )

    # --- the trusted principal -----------------------------------------------------------------

    def trusted_principal(self) -> str | None:
        """ECO_TRUSTED_PRINCIPAL_ARN, else the bot's own identity (an assumed role becomes its role ARN)."""
        if self._configured_principal:
            return self._configured_principal
        with self._lock:
            if self._derived_principal is None:
                try:
                    arn = self._client("sts").get_caller_identity()["Arn"]
                except (ClientError, BotoCoreError) as error:
                    log.warning("could not read the bot's AWS identity: %s", type(error).__name__)
                    return None
                self._derived_principal = principal_from_identity(arn)
            return self._derived_principal

    # --- the bucket ----------------------------------------------------------------------------

    def check_bucket(self, bucket: str) -> list[Item]:
        exists = "Bucket exists"
        region = "Bucket is in us-east-1"
        try:
            response = self._client("s3").head_bucket(Bucket=bucket)
            found_region = response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region")
            items = [Item(exists, Status.PASS, rich("Found ", Code(bucket), "."))]
        except ClientError as error:
            code = _error_code(error)
            found_region = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
            if code in ("404", "NoSuchBucket", "NotFound"):
                return [
                    Item(
                        exists,
                        Status.FAIL,
                        rich("No bucket named ", Code(bucket), " exists."),
                        rich("Check the spelling against the S3 console, or create the bucket in us-east-1 and set it as the report's destination."),
                    ),
                    Item(region, Status.PENDING, rich("Not checked: the bucket does not exist.")),
                ]
            if code in ("403", "AccessDenied", "Forbidden"):
                # It exists; only its owner (the customer) can read it, which is expected before the role exists.
                items = [Item(exists, Status.PASS, rich("Found ", Code(bucket), " (owned by another account, as expected)."))]
            else:
                return [_unreachable(exists, error), Item(region, Status.PENDING, rich("Not checked."))]
        except BotoCoreError as error:
            return [_unreachable(exists, error), Item(region, Status.PENDING, rich("Not checked."))]
        if not found_region:
            items.append(Item(region, Status.PENDING, rich("AWS did not say where the bucket is."), rich("Reply again to retry.")))
        elif found_region == ECO_REGION:
            items.append(Item(region, Status.PASS, rich("The bucket is in us-east-1.")))
        else:
            items.append(
                Item(
                    region,
                    Status.FAIL,
                    rich("The bucket is in ", Code(found_region), "; Eco needs the report delivered to a bucket in us-east-1."),
                    rich("Create a new bucket in us-east-1, point the Cost and Usage Report at it, and reply with its name."),
                )
            )
        return items

    # --- the role ------------------------------------------------------------------------------

    def check_role(self, role: RoleArn, external_id: str, bucket: str) -> list[Item]:
        assume = "Eco can assume the role with this connection's external ID"
        account = "The role belongs to the account in its ARN"
        listing = "The role can list the report bucket"
        try:
            credentials = self._client("sts").assume_role(
                RoleArn=str(role),
                RoleSessionName="eco-connect-verify",
                ExternalId=external_id,
                DurationSeconds=ROLE_SESSION_SECONDS,
            )["Credentials"]
        except ClientError as error:
            if _error_code(error) == "AccessDenied":
                failed = Item(
                    assume,
                    Status.FAIL,
                    rich("AWS refused AssumeRole. AWS does not say why; it is one of three causes."),
                    rich(
                        "1) The role does not exist: check that the stack reached CREATE_COMPLETE and that you pasted its RoleArn output. "
                        "2) Its trust policy names another principal: compare the stack's TrustedPrincipalArn parameter with the one in this thread. "
                        "3) The external ID differs: compare the stack's ExternalId parameter with this thread's."
                    ),
                )
            else:
                failed = Item(assume, Status.FAIL, rich(f"AssumeRole failed ({_error_code(error)})."), rich("Check the role ARN and reply again."))
            return [failed, Item(account, Status.PENDING, rich("Not checked: needs the role.")), Item(listing, Status.PENDING, rich("Not checked: needs the role."))]
        except BotoCoreError as error:
            return [_unreachable(assume, error), Item(account, Status.PENDING, rich("Not checked.")), Item(listing, Status.PENDING, rich("Not checked."))]

        items = [Item(assume, Status.PASS, rich("Assumed ", Code(str(role)), "."))]
        as_role = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        items.append(self._check_account(as_role, role, account))
        items.append(self._check_listing(as_role, bucket, listing))
        return items

    def _check_account(self, as_role: boto3.Session, role: RoleArn, name: str) -> Item:
        try:
            actual = self._client("sts", as_role).get_caller_identity()["Account"]
        except (ClientError, BotoCoreError) as error:
            return _unreachable(name, error)
        if actual != role.account:
            return Item(
                name,
                Status.FAIL,
                rich("The role acts in account ", Code(actual), ", not ", Code(role.account), "."),
                rich("Copy the RoleArn output of the stack again, from the account that owns the report."),
            )
        return Item(name, Status.PASS, rich("Account ", Code(actual), "."))

    def _check_listing(self, as_role: boto3.Session, bucket: str, name: str) -> Item:
        try:
            self._client("s3", as_role).list_objects_v2(Bucket=bucket, MaxKeys=1)
        except ClientError as error:
            code = _error_code(error)
            if code == "AccessDenied":
                return Item(
                    name,
                    Status.FAIL,
                    rich("The role may not list ", Code(bucket), "."),
                    rich("The stack's CurBucketName parameter must be ", Code(bucket), ": update the stack with that value."),
                )
            if code == "NoSuchBucket":
                return Item(name, Status.FAIL, rich("The bucket ", Code(bucket), " no longer exists."), rich("Start again with /eco connect."))
            return Item(name, Status.FAIL, rich(f"Listing the bucket failed ({code})."))
        except BotoCoreError as error:
            return _unreachable(name, error)
        return Item(name, Status.PASS, rich("Listed ", Code(bucket), " through the role."))


def principal_from_identity(arn: str) -> str:
    """The IAM principal to trust for a caller ARN: an assumed-role session becomes its role's ARN.

    `arn:aws:sts::123456789012:assumed-role/EcoBot/i-0abc` -> `arn:aws:iam::123456789012:role/EcoBot`.
    (A role's path is not part of the session ARN; set ECO_TRUSTED_PRINCIPAL_ARN when the role has one.)
    """
    prefix, _, resource = arn.partition(":assumed-role/")
    if resource:
        return f"{prefix.replace(':sts:', ':iam:')}:role/{resource.split('/')[0]}"
    # Users and the root already are IAM principals (some emulators report them under sts).
    return arn.replace(":sts:", ":iam:", 1)

"""Checks a customer's answers against AWS with boto3: the bucket with the bot's own identity, then the
role and everything Eco needs behind it, through the role itself.

Credentials, region and endpoints come from boto3's standard chain (including AWS_ENDPOINT_URL and
AWS_ENDPOINT_URL_<SERVICE>); nothing here names an endpoint. The role step's checks run concurrently in
a few independent chains (each AWS call has botocore's timeouts and standard retries, and the whole step
a deadline); a check that cannot run says why and stays pending, it never passes by default. What the
checks expect lives in `bot.aws.requirements`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.aws import requirements as need
from bot.aws.checklist import (  # noqa: F401  (the check names are part of this module's interface)
    ACCOUNT,
    ARRIVAL_CHECKS,
    ASSUME,
    BUCKET_POLICY,
    COST_EXPLORER,
    DATA,
    DELIVERY,
    DENIED,
    LISTING,
    NO_EXTERNAL_ID,
    NOT_REQUIRED,
    ORGANIZATION,
    READING,
    REPORT,
    ROLE_CHECKS,
    UPDATE_STACK,
    Board,
    Progress,
    RunStats,
    ask,
    could_not,
    could_not_item,
    error_code,
    error_headers,
)
from bot.aws.judgements import allows_service, delivery_status, delivery_time, readable_time
from bot.engine.content import Code, Item, Rich, Status, rich
from bot.engine.identifiers import RoleArn

log = logging.getLogger(__name__)

ECO_REGION = need.ECO_REGION
# Short timeouts and a few retries: botocore's standard mode retries throttling and transient errors.
CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=8, retries={"mode": "standard", "total_max_attempts": 4})
ROLE_SESSION_SECONDS = 900  # the shortest AssumeRole allows: the bot needs seconds, not hours
PROGRESS_EVERY = 0.5  # seconds between progress reports while checks run
ROLE_STEP_DEADLINE = 25.0  # seconds; a check still running then is reported pending, with that reason
class AwsVerifier:
    """The engine's `Verifier` port, backed by boto3."""

    def __init__(
        self,
        *,
        session: boto3.Session | None = None,
        trusted_principal_arn: str | None = None,
        deadline: float = ROLE_STEP_DEADLINE,
    ):
        self._session = session or boto3.Session()
        self._configured_principal = trusted_principal_arn
        self._derived_principal: str | None = None
        self._deadline = deadline
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe; clients made from them are
        self._own_clients: dict[tuple[str, str], Any] = {}  # (service, region) -> a client with the bot's identity

    def _client(self, service: str, credentials: dict[str, str] | None = None, *, region: str | None = None):
        keys = {}
        if credentials:
            keys = {
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            }
        region = region or self._session.region_name or ECO_REGION
        # Clients come from the one long-lived session so its loaded service models are reused. The bot's own
        # clients are made once and shared (boto3 clients are thread-safe): making one costs milliseconds of CPU,
        # which every request thread would otherwise pay under load. Assumed-role clients last one check.
        with self._lock:
            if credentials:
                return self._session.client(service, region_name=region, config=CLIENT_CONFIG, **keys)
            if (service, region) not in self._own_clients:
                self._own_clients[(service, region)] = self._session.client(service, region_name=region, config=CLIENT_CONFIG)
            return self._own_clients[(service, region)]

    # --- the trusted principal -----------------------------------------------------------------

    def trusted_principal(self) -> str | None:
        """ECO_TRUSTED_PRINCIPAL_ARN, else the bot's own identity (an assumed role becomes its role ARN)."""
        if self._configured_principal:
            return self._configured_principal
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
            code = error_code(error)
            # AWS names the bucket's region even when it refuses access, so a 403 still answers this.
            found_region = error_headers(error).get("x-amz-bucket-region")
            if code in ("404", "NoSuchBucket", "NotFound"):
                return [
                    Item(
                        exists,
                        Status.FAIL,
                        rich("No bucket named ", Code(bucket), " exists in any account."),
                        rich("Check the spelling against the S3 console, or create the bucket in us-east-1 and set it as the report's destination."),
                    ),
                    Item(region, Status.PENDING, rich("Not checked: the bucket does not exist.")),
                ]
            if code in DENIED:
                # It exists and another account owns it: the customer's, which is expected before the role exists.
                # Whether it is really theirs is proven in the role step, when their role reads it.
                items = [Item(exists, Status.PASS, rich("Found ", Code(bucket), ", owned by another account (yours, we expect: the role step proves it)."))]
            else:
                return [could_not_item(exists, error), Item(region, Status.PENDING, rich("Not checked."))]
        except BotoCoreError as error:
            return [could_not_item(exists, error), Item(region, Status.PENDING, rich("Not checked."))]
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
                    rich("A bucket cannot move: create a new bucket in us-east-1, point the Cost and Usage Report at it, and reply with its name."),
                )
            )
        return items

    # --- the role ------------------------------------------------------------------------------

    def check_role(
        self,
        role: RoleArn,
        external_id: str,
        bucket: str,
        progress: Progress | None = None,
        stats: RunStats | None = None,
    ) -> list[Item]:
        """Every role-step check, concurrently; `progress` gets the whole checklist each time lines finish."""
        board = Board(ROLE_CHECKS, stats)
        started = time.monotonic()
        deadline = started + self._deadline
        pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="eco-verify")
        try:
            board.begin(ASSUME, NO_EXTERNAL_ID)
            without_id = pool.submit(self._assume, role, None)
            with_id = pool.submit(self._assume, role, external_id)
            self._settle(board, [with_id], deadline, progress)
            credentials = self._record_assume(board, with_id, role)
            if credentials is None:
                board.skip([n for n in ROLE_CHECKS if n != ASSUME], "Not checked: needs the role.")
            else:
                chains = {
                    "confused-deputy": pool.submit(self._chain, board, self._no_external_id, without_id, external_id),
                    "account": pool.submit(self._chain, board, self._account, credentials, role),
                    "report": pool.submit(self._chain, board, self._report, credentials, bucket),
                    "bucket policy": pool.submit(self._chain, board, self._bucket_policy, credentials, bucket, role.account),
                    "cost explorer": pool.submit(self._chain, board, self._cost_explorer, credentials),
                }
                self._settle(board, list(chains.values()), deadline, progress)
                assume_time = board.stats.checks.get(ASSUME, 0.0)
                for name, chain in chains.items():
                    if chain.done() and chain.exception() is None:
                        board.stats.chains[name] = assume_time + chain.result()
            board.skip(board.open_lines(), f"Not checked: AWS did not answer within {self._deadline:.0f} seconds. Reply again to retry.")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # a stuck call must not hold the answer
        board.stats.wall = time.monotonic() - started
        return board.items()

    def check_arrival(self, role: RoleArn, external_id: str, bucket: str) -> list[Item]:
        """At the end of the processing window: has report data arrived? The role, the report and its files only
        (the checks that say whether Eco can read data now), under the same deadline as the role step."""
        board = Board(ARRIVAL_CHECKS)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eco-arrival")
        try:
            board.begin(ASSUME)
            assumed = pool.submit(self._assume, role, external_id)
            wait([assumed], timeout=self._deadline)
            credentials = self._record_assume(board, assumed, role)
            if credentials is None:
                board.skip([n for n in ARRIVAL_CHECKS if n != ASSUME], "Not checked: needs the role.")
            else:
                chain = pool.submit(self._chain, board, self._report, credentials, bucket)
                wait([chain], timeout=self._deadline)
            board.skip(board.open_lines(), f"Not checked: AWS did not answer within {self._deadline:.0f} seconds.")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # a stuck call must not hold the notice
        return board.items()

    def _settle(self, board: Board, futures: list[Future], deadline: float, progress: Progress | None) -> None:
        """Wait for `futures` until the deadline, showing the checklist to `progress` when it changed, at most
        every PROGRESS_EVERY seconds (chat services rate-limit message edits; the final result is the caller's)."""
        pending = set(futures)
        shown_at = 0.0
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            _, pending = wait(pending, timeout=min(remaining, PROGRESS_EVERY), return_when="FIRST_COMPLETED")
            now = time.monotonic()
            if progress and pending and now - shown_at >= PROGRESS_EVERY and board.take_changes():
                shown_at = now
                try:
                    progress(board.items())
                except Exception:  # a progress display must never break the checks
                    log.exception("progress callback failed")

    @staticmethod
    def _chain(board: Board, chain: Callable[..., None], *args: Any) -> float:
        """Run one chain of dependent checks; returns its duration. An unexpected error leaves its lines pending."""
        started = time.monotonic()
        try:
            chain(board, *args)
        except Exception:
            log.exception("check chain %s failed", chain.__name__)
        return time.monotonic() - started

    def _assume(self, role: RoleArn, external_id: str | None) -> dict[str, str]:
        arguments = {"RoleArn": str(role), "RoleSessionName": "eco-connect-verify", "DurationSeconds": ROLE_SESSION_SECONDS}
        if external_id is not None:
            arguments["ExternalId"] = external_id
        return self._client("sts").assume_role(**arguments)["Credentials"]

    # --- the chains (each writes its own lines on the board) -----------------------------------

    def _record_assume(self, board: Board, future: Future, role: RoleArn) -> dict[str, str] | None:
        if not future.done():
            return None  # the deadline passed: the caller marks it pending
        error = future.exception()
        if error is None:
            board.set(ASSUME, Status.PASS, rich("Assumed ", Code(str(role)), "."))
            return future.result()
        if isinstance(error, ClientError) and error_code(error) in DENIED:
            board.set(
                ASSUME,
                Status.FAIL,
                rich("AWS refused AssumeRole. AWS does not say why; it is one of three causes."),
                rich(
                    "1) The role does not exist: check that the stack reached CREATE_COMPLETE and that you pasted its RoleArn output "
                    "(CloudFormation console → the stack → Outputs). "
                    "2) Its trust policy names another principal: compare the stack's TrustedPrincipalArn parameter with the principal in this thread. "
                    "3) The external ID differs: compare the stack's ExternalId parameter with this thread's external ID."
                ),
            )
        elif isinstance(error, (ClientError, BotoCoreError)):
            board.set(ASSUME, *could_not(error))
        else:
            raise error
        return None

    def _no_external_id(self, board: Board, without_id: Future, external_id: str) -> None:
        error = without_id.exception()  # waits: the call was started together with the one that passed
        if error is None:
            board.set(
                NO_EXTERNAL_ID,
                Status.FAIL,
                rich(
                    "AWS let Eco assume the role without an external ID: its trust policy lacks the sts:ExternalId condition, "
                    "so anyone who can make Eco act and learns this ARN could read this account's billing (the confused-deputy problem)."
                ),
                rich(
                    "IAM console → Roles → the role → Trust relationships → Edit, and add to its statement ",
                    Code(json.dumps({"Condition": {"StringEquals": {"sts:ExternalId": external_id}}})),
                    ", or launch the stack again from the link in this thread.",
                ),
            )
        elif isinstance(error, ClientError) and error_code(error) in DENIED:
            board.set(NO_EXTERNAL_ID, Status.PASS, rich("AWS refused AssumeRole without the external ID, as it should."))
        elif isinstance(error, (ClientError, BotoCoreError)):
            board.set(NO_EXTERNAL_ID, *could_not(error))
        else:
            raise error

    def _account(self, board: Board, credentials: dict[str, str], role: RoleArn) -> None:
        board.begin(ACCOUNT)
        identity = ask(board, ACCOUNT, self._client("sts", credentials).get_caller_identity)
        if identity is None:
            board.skip([ORGANIZATION], "Not checked: the role's account is unknown.")
            return
        actual = identity["Account"]
        if actual != role.account:
            board.set(
                ACCOUNT,
                Status.FAIL,
                rich("The role acts in account ", Code(actual), ", not ", Code(role.account), "."),
                rich("Copy the RoleArn output of the stack again, from the account that owns the report."),
            )
        else:
            board.set(ACCOUNT, Status.PASS, rich("Account ", Code(actual), "."))
        board.begin(ORGANIZATION)
        answer = ask(
            board,
            ORGANIZATION,
            self._client("organizations", credentials).describe_organization,
            {
                "AWSOrganizationsNotInUseException": (Status.PASS, rich("Not in an organization: its report covers all of its own usage."), ()),
                "denied": (Status.WARN, rich("Could not tell: the role may not call organizations:DescribeOrganization."), rich(UPDATE_STACK)),
            },
        )
        if answer is None:
            return
        organization = answer["Organization"]
        management = organization.get("MasterAccountId")
        if management == actual:
            board.set(ORGANIZATION, Status.PASS, rich("The management account of ", Code(organization.get("Id", "?")), ": its report can cover the whole organization."))
        else:
            board.set(
                ORGANIZATION,
                Status.WARN,
                rich("A member account of ", Code(organization.get("Id", "?")), " (management account ", Code(str(management)), ")."),
                rich(
                    "Fine when Eco should see only this account's costs and this account has its own report. "
                    "To cover the whole organization, connect the management account ",
                    Code(str(management)),
                    " instead.",
                ),
            )

    def _report(self, board: Board, credentials: dict[str, str], bucket: str) -> None:
        requirement_names = [r.name for r in need.REPORT_REQUIREMENTS]
        board.begin(REPORT, *requirement_names, DELIVERY)
        reports = ask(
            board,
            REPORT,
            lambda: self._report_definitions(credentials),
            {"denied": (Status.FAIL, rich("The role may not call cur:DescribeReportDefinitions."), rich(UPDATE_STACK))},
        )
        if reports is None:
            board.skip([*requirement_names, DELIVERY], "Not checked: the report is unknown.")
            self._listing(board, credentials, bucket, None)
            return
        delivering = [r for r in reports if r.get("S3Bucket") == bucket]
        if not delivering:
            board.set(REPORT, Status.FAIL, *self._no_report(credentials, bucket, reports))
            board.skip([*requirement_names, DELIVERY], "Not checked: no report delivers to the bucket.")
            self._listing(board, credentials, bucket, None)
            return
        # With several, judge the best one: the customer means the one that is set up for Eco.
        report = max(delivering, key=lambda r: sum(q.satisfied(r) for q in need.REPORT_REQUIREMENTS))
        others = [r["ReportName"] for r in delivering if r is not report]
        found = rich("Report ", Code(report["ReportName"]), " delivers to ", Code(f"s3://{bucket}/{need.report_prefix(report)}"), ".")
        if others:
            found += rich(" Also delivering there: ", ", ".join(others), ".")
        board.set(REPORT, Status.PASS, found)
        for requirement in need.REPORT_REQUIREMENTS:
            if requirement.satisfied(report):
                board.set(requirement.name, Status.PASS, rich(_sentence(requirement.found(report))))
            else:
                board.set(
                    requirement.name,
                    Status.FAIL,
                    rich(_sentence(requirement.found(report))),
                    rich(requirement.fix.format(report=report["ReportName"])),
                )
        board.set(DELIVERY, *delivery_status(report))
        self._listing(board, credentials, bucket, report)

    def _report_definitions(self, credentials: dict[str, str]) -> list[dict[str, Any]]:
        pages = self._client("cur", credentials, region=ECO_REGION).get_paginator("describe_report_definitions").paginate()
        return [report for page in pages for report in page.get("ReportDefinitions", [])]

    def _no_report(self, credentials: dict[str, str], bucket: str, reports: list[dict[str, Any]]) -> tuple[Rich, Rich]:
        exports = self._cur2_exports_into(credentials, bucket)
        if exports:
            return (
                rich(
                    "The bucket is fed by the CUR 2.0 export ", Code(exports[0]), " (AWS Data Exports), not by a legacy report. "
                    "Eco reads the legacy Cost and Usage Report, whose files and columns differ; it cannot use CUR 2.0 data yet."
                ),
                rich(need.NEW_REPORT, ". The CUR 2.0 export may stay."),
            )
        if not reports:
            found = rich("This account has no legacy Cost and Usage Report.")
        else:
            listed = "; ".join(f"'{r['ReportName']}' → s3://{r.get('S3Bucket', '?')}/{r.get('S3Prefix', '')}" for r in reports[:10])
            found = rich("No report delivers to ", Code(bucket), ". The reports in this account: ", listed, ".")
        return found, rich(need.NEW_REPORT, ".")

    def _cur2_exports_into(self, credentials: dict[str, str], bucket: str) -> list[str]:
        """Names of CUR 2.0 exports writing to `bucket` (best effort: only used to explain a missing report)."""
        try:
            client = self._client("bcm-data-exports", credentials, region=ECO_REGION)
            names = []
            for page in client.get_paginator("list_exports").paginate():
                for summary in page.get("Exports", []):
                    export = client.get_export(ExportArn=summary["ExportArn"])["Export"]
                    destination = export.get("DestinationConfigurations", {}).get("S3Destination", {})
                    query = export.get("DataQuery", {}).get("QueryStatement", "").upper()
                    if destination.get("S3Bucket") == bucket and "COST_AND_USAGE_REPORT" in query:
                        names.append(export.get("Name", summary.get("ExportName", "?")))
            return names
        except (ClientError, BotoCoreError) as error:
            log.info("could not list Data Exports: %s", type(error).__name__)
            return []

    def _listing(self, board: Board, credentials: dict[str, str], bucket: str, report: dict[str, Any] | None) -> None:
        board.begin(LISTING, DATA)
        prefix = need.report_prefix(report) if report else ""
        s3 = self._client("s3", credentials, region=ECO_REGION)
        listing = ask(
            board,
            LISTING,
            lambda: s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1000),
            {
                "denied": (
                    Status.FAIL,
                    rich("The role may not list ", Code(f"s3://{bucket}/{prefix}"), "."),
                    rich("The stack's CurBucketName parameter must be ", Code(bucket), ": update the stack with that value."),
                ),
                "NoSuchBucket": (Status.FAIL, rich("The bucket ", Code(bucket), " no longer exists."), rich("Start again with /eco connect.")),
            },
        )
        if listing is None:
            board.skip([READING, DATA], "Not checked: the report's files could not be listed.")
            return
        objects = listing.get("Contents", [])
        where = Code(f"s3://{bucket}/{prefix}")
        board.set(LISTING, Status.PASS, rich("Listed ", where, f" through the role ({len(objects)} files)." if report else " through the role."))
        if report is None:
            board.skip([READING, DATA], "Not checked: no report delivers to the bucket.")
            return
        if not objects:
            self._no_data(board, report, where)
            return
        newest = max(objects, key=lambda o: o["LastModified"])
        board.set(DATA, Status.PASS, rich(f"{len(objects)} files under ", where, "; the newest written ", readable_time(newest["LastModified"]), "."))
        board.begin(READING)
        sample = next((o for o in objects if o["Key"].endswith((".parquet", "Manifest.json", ".csv.gz"))), objects[0])
        read = ask(
            board,
            READING,
            lambda: s3.get_object(Bucket=bucket, Key=sample["Key"], Range="bytes=0-0"),
            {
                "denied": (
                    Status.FAIL,
                    rich("The role may not read ", Code(sample["Key"]), "."),
                    rich("The role's policy must allow s3:GetObject on ", Code(f"arn:aws:s3:::{bucket}/*"), ". ", UPDATE_STACK),
                )
            },
        )
        if read is None:
            return
        read["Body"].close()
        board.set(READING, Status.PASS, rich("Read ", Code(sample["Key"]), "."))

    @staticmethod
    def _no_data(board: Board, report: dict[str, Any], where: Code) -> None:
        board.set(READING, Status.PENDING, rich("Nothing to read yet."))
        status = report.get("ReportStatus") or {}
        if status.get("lastStatus") == "SUCCESS":
            board.set(
                DATA,
                Status.FAIL,
                rich("AWS delivered the report ", readable_time(delivery_time(status)), ", but there is nothing under ", where, "."),
                rich("Check the bucket's lifecycle rules and that nothing deletes or moves the report's files."),
            )
        else:
            hours = int(need.FIRST_DELIVERY_WITHIN.total_seconds() // 3600)
            board.set(DATA, Status.PENDING, rich("No data yet under ", where, f": AWS delivers a new report's first files within {hours} hours."))

    def _bucket_policy(self, board: Board, credentials: dict[str, str], bucket: str, account: str) -> None:
        board.begin(BUCKET_POLICY)
        statement = json.dumps(need.delivery_statement(bucket, account))
        add_it = rich("S3 console → ", Code(bucket), " → Permissions → Bucket policy → Edit, and add this statement: ", Code(statement))
        answer = ask(
            board,
            BUCKET_POLICY,
            lambda: self._client("s3", credentials, region=ECO_REGION).get_bucket_policy(Bucket=bucket),
            {
                "NoSuchBucketPolicy": (Status.FAIL, rich("The bucket has no policy, so AWS billing may not write the report to it."), add_it),
                "denied": (Status.WARN, rich("Could not read the bucket policy: the role may not call s3:GetBucketPolicy."), rich(UPDATE_STACK)),
            },
        )
        if answer is None:
            return
        document = answer["Policy"]
        missing = [action for action, resource in need.delivery_grants(bucket) if not allows_service(document, action, resource)]
        if missing:
            board.set(
                BUCKET_POLICY,
                Status.FAIL,
                rich(f"The bucket policy does not allow {need.CUR_SERVICE_PRINCIPAL} to ", ", ".join(missing), "."),
                add_it,
            )
        else:
            board.set(BUCKET_POLICY, Status.PASS, rich(f"{need.CUR_SERVICE_PRINCIPAL} may deliver to ", Code(bucket), "."))

    def _cost_explorer(self, board: Board, credentials: dict[str, str]) -> None:
        board.begin(COST_EXPLORER)
        today = datetime.now(UTC).date()
        answer = ask(
            board,
            COST_EXPLORER,
            # The smallest useful question (one day, one metric): Cost Explorer bills per request.
            lambda: self._client("ce", credentials, region=ECO_REGION).get_cost_and_usage(
                TimePeriod={"Start": (today - timedelta(days=1)).isoformat(), "End": today.isoformat()},
                Granularity="DAILY",
                Metrics=["UnblendedCost"],
            ),
            {
                "denied": (Status.WARN, rich("The role may not call ce:GetCostAndUsage; Eco's cost views will be limited."), rich(UPDATE_STACK)),
                "DataUnavailableException": (
                    Status.WARN,
                    rich("Cost Explorer has no data for this account yet."),
                    rich("Enable it in the Billing and Cost Management console → Cost Explorer; its data appears within 24 hours."),
                ),
            },
        )
        if answer is not None:
            board.set(COST_EXPLORER, Status.PASS, rich("Cost Explorer answered."))


def _sentence(text: str) -> str:
    """`time granularity daily` -> `Time granularity daily.` (str.capitalize would lowercase `Parquet`)."""
    return text[:1].upper() + text[1:] + "."


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

"""The demo's AWS: the fake AWS started in this process and seeded with two customer accounts, so that
`eco-bot shell --demo` shows the whole product with nothing to set up.

* a ready account: a CUR bucket in us-east-1 whose policy lets AWS billing deliver, a correct legacy report,
  and data already delivered;
* an account with the usual mistakes: a bucket in the wrong region, and a bucket whose report is daily,
  without resource IDs, and whose stack's trust policy was edited to drop the external ID condition.

The customer's side of the role step (opening the quick-create link and launching the stack) is played by
`launch_stack_for` once the bot has asked for the role: it launches the project's template with the
connection's own external ID, in the account that owns the bucket.
"""

from __future__ import annotations

import os

from bot.engine.steps import Step
from bot.sandbox.world import BOT_PRINCIPAL, AwsWorld, CustomerAccount
from bot.store.models import Connection

READY_ACCOUNT = "111122223333"
READY_BUCKET = "acme-cur"
MISTAKES_ACCOUNT = "444455556666"
WRONG_REGION_BUCKET = "oops-cur-eu"
MISTAKES_BUCKET = "oops-cur"
TEMPLATE_BUCKET = "eco-demo-templates"

# Whatever AWS configuration the person running the demo has must not leak in: the demo talks to the fake only.
_CLEARED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CA_BUNDLE")


class DemoAws:
    def __init__(self) -> None:
        self.world = AwsWorld()
        self._accounts: dict[str, CustomerAccount] = {}
        self._launched: set[int] = set()

    def start(self) -> None:
        self.world.start()
        for name in _CLEARED:
            os.environ.pop(name, None)
        os.environ.update(self.world.environment(), AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        self._seed()

    def stop(self) -> None:
        self.world.stop()

    def _seed(self) -> None:
        ready = self._accounts[READY_BUCKET] = CustomerAccount.open(READY_ACCOUNT)
        ready.create_bucket(READY_BUCKET)
        ready.allow_cur_delivery(READY_BUCKET)
        ready.create_report("eco-cur", READY_BUCKET, "cur")
        self.world.deliver_report(READY_ACCOUNT, "eco-cur")

        mistakes = self._accounts[MISTAKES_BUCKET] = CustomerAccount.open(MISTAKES_ACCOUNT)
        mistakes.create_bucket(WRONG_REGION_BUCKET, region="eu-west-1")
        mistakes.create_bucket(MISTAKES_BUCKET)
        mistakes.allow_cur_delivery(MISTAKES_BUCKET)
        mistakes.create_report("daily-cur", MISTAKES_BUCKET, "billing", time_unit="DAILY", resources=False)
        self.world.deliver_report(MISTAKES_ACCOUNT, "daily-cur")

    def publish_template(self) -> str:
        """The template, uploaded to the bot's own (fake) bucket, as `eco-bot template publish` does."""
        import boto3

        from bot.aws.commands import publish_template

        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=TEMPLATE_BUCKET)
        return publish_template(TEMPLATE_BUCKET, "demo")

    def launch_stack_for(self, connection: Connection) -> str | None:
        """Once a connection asks for its role, launch the customer's stack for it; returns the RoleArn output."""
        if connection.step != Step.AWAITING_ROLE or connection.id in self._launched:
            return None
        account = self._accounts.get(connection.bucket or "")
        if account is None:
            return None
        self._launched.add(connection.id)
        role_arn = account.launch_stack(
            external_id=connection.external_id, bucket=connection.bucket or "", name=f"eco-connect-{connection.id}"
        )
        if connection.bucket == MISTAKES_BUCKET:
            # Someone "simplified" the trust policy and dropped the external ID condition: the confused-deputy risk.
            statement = {"Effect": "Allow", "Principal": {"AWS": BOT_PRINCIPAL}, "Action": "sts:AssumeRole"}
            account.update_trust_policy(role_arn, {"Version": "2012-10-17", "Statement": [statement]})
        return role_arn


INTRO = f"""\
Eco Connect demo: the real conversation, database and AWS checks, against a fake AWS in this process.
Two customer accounts are ready to connect:
  {READY_ACCOUNT}  set up correctly: bucket {READY_BUCKET}
  {MISTAKES_ACCOUNT}  with typical mistakes: bucket {WRONG_REGION_BUCKET} (wrong region), then bucket {MISTAKES_BUCKET}
                (daily report without resource IDs; the role's trust policy lacks the external ID condition)
Try:  /eco connect Acme    then reply  {READY_BUCKET}    then paste the RoleArn the demo prints,
      then  as UAPPROVER  and  approve 1 . The processing window is short: its notice arrives while you wait.
Type help for every command."""

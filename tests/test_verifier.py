"""The AWS verifier's answers for what neither moto nor our fakes produce: a 403 that still names the
bucket's region, AWS not answering at all, and the pure helpers. botocore's Stubber plays AWS's replies
to the real boto3 clients. The role step's checks run against the enforcing fakes in test_verification.py.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from bot.aws.verifier import AwsVerifier, principal_from_identity
from bot.engine.content import Status, plain


class StubbedVerifier(AwsVerifier):
    """An AwsVerifier whose boto3 clients are stubbed: one queue of replies per service and identity.

    The bot's own identity and the assumed role have separate queues, so a check that called AWS with the
    wrong credentials meets an empty queue and fails the test.
    """

    def __init__(self, **kwargs):
        super().__init__(session=boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"), **kwargs)
        self.clients: dict[tuple[str, bool], object] = {}
        self.role_keys: list[str] = []  # the access key of every client built from assumed credentials

    def stub(self, service: str, *, as_role: bool = False) -> Stubber:
        client = self._session.client(service, region_name="us-east-1")
        self.clients[(service, as_role)] = client
        stubber = Stubber(client)
        stubber.activate()
        return stubber

    def _client(self, service, credentials=None, *, region=None):
        as_role = credentials is not None
        if as_role:
            self.role_keys.append(credentials["AccessKeyId"])
        return self.clients[(service, as_role)]


def statuses(items) -> list[tuple[str, Status]]:
    return [(item.name, item.status) for item in items]


def test_a_forbidden_bucket_exists_and_its_region_is_still_read():
    verifier = StubbedVerifier()
    verifier.stub("s3").add_client_error(
        "head_bucket", "403", "Forbidden", 403, response_meta={"HTTPHeaders": {"x-amz-bucket-region": "eu-west-1"}}
    )

    items = verifier.check_bucket("acme-cur")

    assert statuses(items) == [("Bucket exists", Status.PASS), ("Bucket is in us-east-1", Status.FAIL)]
    assert "eu-west-1" in plain(items[1].detail)


def test_aws_not_answering_is_pending_never_a_pass():
    verifier = StubbedVerifier()
    stubber = verifier.stub("s3")
    client = verifier.clients[("s3", False)]

    def unreachable(**_):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    stubber.deactivate()
    client.head_bucket = unreachable  # what botocore raises when the endpoint does not answer

    items = verifier.check_bucket("acme-cur")

    assert [status for _, status in statuses(items)] == [Status.PENDING, Status.PENDING]
    assert "did not answer" in plain(items[0].detail)


@pytest.mark.parametrize(
    ("identity", "principal"),
    [
        ("arn:aws:sts::123456789012:assumed-role/EcoBot/i-0abc", "arn:aws:iam::123456789012:role/EcoBot"),
        ("arn:aws:iam::123456789012:user/eco-bot", "arn:aws:iam::123456789012:user/eco-bot"),
        ("arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root"),
    ],
    ids=["assumed-role", "user", "root"],
)
def test_the_trusted_principal_is_derived_from_the_bot_identity(identity, principal):
    assert principal_from_identity(identity) == principal


def test_a_configured_principal_wins_and_costs_no_call():
    verifier = StubbedVerifier(trusted_principal_arn="arn:aws:iam::123456789012:role/eco")
    verifier.stub("sts")  # no reply queued: any call would fail the test
    assert verifier.trusted_principal() == "arn:aws:iam::123456789012:role/eco"


def test_the_derived_principal_is_read_once():
    verifier = StubbedVerifier()
    verifier.stub("sts").add_response(
        "get_caller_identity", {"Account": "123456789012", "Arn": "arn:aws:sts::123456789012:assumed-role/EcoBot/s", "UserId": "u"}
    )
    assert verifier.trusted_principal() == verifier.trusted_principal() == "arn:aws:iam::123456789012:role/EcoBot"

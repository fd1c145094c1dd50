"""The AWS side of the command line: `eco-bot verify` (the conversation's checks, from a terminal) and
`eco-bot template publish` (put the template where the quick-create link can read it).

Neither needs Slack or the database; both use boto3's standard credentials and endpoints.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from typing import TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.template import template_text
from bot.aws.verifier import CLIENT_CONFIG, ECO_REGION, AwsVerifier
from bot.engine.content import Item, Status, plain
from bot.engine.identifiers import Invalid, RoleArn, parse_bucket_name, parse_external_id, parse_role_arn
from bot.terminal import render


class UsageError(Exception):
    """A bad argument: the message says which and why."""


@dataclass(frozen=True)
class Section:
    step: str
    items: list[Item]


def verify(bucket: str, role_arn: str, external_id: str, *, principal: str | None = None) -> list[Section]:
    """Run the bucket step's and the role step's checks, exactly as the conversation does."""
    name = parse_bucket_name(bucket)
    role = parse_role_arn(role_arn)
    external = parse_external_id(external_id)
    for option, parsed in (("--bucket", name), ("--role-arn", role), ("--external-id", external)):
        if isinstance(parsed, Invalid):
            raise UsageError(f"{option}: {parsed.reason}{' ' + parsed.fix if parsed.fix else ''}")
    assert isinstance(name, str) and isinstance(role, RoleArn) and isinstance(external, str)
    verifier = AwsVerifier(trusted_principal_arn=principal)
    return [
        Section("bucket", [Item("Name follows the S3 naming rules", Status.PASS), *verifier.check_bucket(name)]),
        Section("role", [Item("ARN is a role in the aws partition", Status.PASS), *verifier.check_role(role, external, name)]),
    ]


def failed(sections: list[Section]) -> bool:
    """A check failed, or a required one could not run: either way the setup is not proven."""
    return any(item.holds_step for section in sections for item in section.items)


def write_report(sections: list[Section], out: TextIO = sys.stdout, *, as_json: bool = False) -> None:
    if as_json:
        checks = [
            {"step": s.step, "name": i.name, "status": str(i.status), "required": i.required, "found": plain(i.detail), "fix": plain(i.fix)}
            for s in sections
            for i in s.items
        ]
        json.dump({"ok": not failed(sections), "checks": checks}, out, indent=2)
        out.write("\n")
        return
    for section in sections:
        out.write(f"{section.step.capitalize()} step\n")
        for text in render.checklist(section.items):
            out.write(f"  {text}\n")
    holding = [i for s in sections for i in s.items if i.holds_step]
    out.write("\nEvery required check passed.\n" if not holding else f"\n{len(holding)} check(s) not passing: see the fixes above.\n")


def publish_template(bucket: str, prefix: str = "") -> str:
    """Upload the packaged template under a name derived from its content; return its HTTPS URL.

    A content-addressed key means a changed template gets a new URL, so a customer's console never
    launches a stale copy from a cache, and old links keep working.
    """
    name = parse_bucket_name(bucket)
    if isinstance(name, Invalid):
        raise UsageError(f"--bucket: {name.reason}")
    prefix = prefix.strip("/")
    if any(ch.isspace() or ord(ch) < 32 for ch in prefix):
        raise UsageError("--prefix: a key prefix has no spaces or control characters.")
    body = template_text().encode()
    key = "/".join(filter(None, [prefix, f"eco-connect-{hashlib.sha256(body).hexdigest()[:12]}.yaml"]))
    session = boto3.Session()
    s3 = session.client("s3", region_name=session.region_name or ECO_REGION, config=CLIENT_CONFIG)
    try:
        s3.put_object(Bucket=name, Key=key, Body=body, ContentType="application/x-yaml")
        region = s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region", ECO_REGION)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        raise UsageError(f"S3 refused the upload to {name} ({code}).") from None
    except BotoCoreError as error:
        raise UsageError(f"could not reach S3 ({type(error).__name__}).") from None
    return f"https://{name}.s3.{region}.amazonaws.com/{key}"

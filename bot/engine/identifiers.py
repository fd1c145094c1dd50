"""Validation of what users type: S3 bucket names, IAM role ARNs, connection references.

Validators never raise on any input: they return a value or an `Invalid` carrying one specific reason.
They trim what is harmless (surrounding whitespace, a trailing newline, Slack's auto-formatting of
a pasted value) and refuse everything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_INPUT = 2048  # longer than any valid answer; longer input is refused before any regex runs

# S3 rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_BUCKET_CHARS = re.compile(r"^[a-z0-9.-]+$")
_IP_SHAPED = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

_ARN = re.compile(
    r"^arn:(?P<partition>[a-z-]+):(?P<service>[a-z0-9-]*):(?P<region>[a-z0-9-]*):"
    r"(?P<account>[^:]*):(?P<resource>.*)$"
)
_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)
_ROLE_PATH_PART = re.compile(r"^[\w+=,.@-]+$", re.ASCII)
KNOWN_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
# Slack wraps pasted URLs and some values in <...> or <value|label>; a user who pastes an ARN from a
# code block may also keep the backticks. Both are harmless wrappers.
_SLACK_WRAPPED = re.compile(r"^<([^<>|]*)(?:\|[^<>]*)?>$")


@dataclass(frozen=True)
class Invalid:
    """Why an answer was refused, in one sentence meant for the person who typed it."""

    reason: str
    fix: str = ""


@dataclass(frozen=True)
class RoleArn:
    partition: str
    account: str
    path: str
    name: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{self.path}{self.name}"


def clean(text: str) -> str:
    """Strip what a chat client or a copy-paste adds around a single value."""
    value = text.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "`'\"":
        value = value[1:-1].strip()
    wrapped = _SLACK_WRAPPED.match(value)
    if wrapped:
        value = wrapped.group(1).strip()
    return value


def _common_refusal(value: str, what: str) -> Invalid | None:
    if not value:
        return Invalid(f"That message was empty: send the {what} on its own.")
    if len(value) > MAX_INPUT:
        return Invalid(f"That message is {len(value):,} characters long: send only the {what}.")
    if any(ch.isspace() for ch in value):
        return Invalid(f"A {what} has no spaces or line breaks: send only the {what}, on its own.")
    return None


def parse_bucket_name(text: str) -> str | Invalid:
    value = clean(text)
    refusal = _common_refusal(value, "bucket name")
    if refusal:
        return refusal
    if not value.isascii():
        return Invalid(
            "Bucket names use only ASCII letters, digits, dots and hyphens; this one has other characters "
            "(possibly a look-alike of a Latin letter).",
            "Type the name again, or copy it from the S3 console.",
        )
    if value.startswith(("s3://", "arn:aws:s3:::", "https://", "http://")):
        return Invalid("Send the bucket's name only, not a URL or ARN.", "For s3://my-bucket/prefix send my-bucket.")
    if len(value) < 3 or len(value) > 63:
        return Invalid(f"Bucket names are 3 to 63 characters long; this one has {len(value)}.")
    if value.lower() != value:
        return Invalid("Bucket names cannot contain uppercase letters.")
    if not _BUCKET_CHARS.match(value):
        return Invalid("Bucket names use only lowercase letters, digits, dots (.) and hyphens (-).")
    if not (value[0].isalnum() and value[-1].isalnum()):
        return Invalid("Bucket names must begin and end with a letter or a digit.")
    if ".." in value:
        return Invalid("Bucket names cannot contain two adjacent dots.")
    if _IP_SHAPED.match(value):
        return Invalid("Bucket names cannot be formatted as an IP address.")
    for prefix in _RESERVED_PREFIXES:
        if value.startswith(prefix):
            return Invalid(f"Bucket names cannot start with the reserved prefix {prefix}.")
    for suffix in _RESERVED_SUFFIXES:
        if value.endswith(suffix):
            return Invalid(f"Bucket names cannot end with the reserved suffix {suffix}.")
    return value


def parse_role_arn(text: str) -> RoleArn | Invalid:
    value = clean(text)
    refusal = _common_refusal(value, "role ARN")
    if refusal:
        return refusal
    if not value.isascii():
        return Invalid("A role ARN uses only ASCII characters; this one has others (possibly look-alike letters).")
    match = _ARN.match(value)
    if not match:
        return Invalid(
            "That is not an ARN. A role ARN looks like arn:aws:iam::123456789012:role/EcoRole.",
            "Copy RoleArn from the Outputs tab of the CloudFormation stack.",
        )
    partition, service, region, account, resource = match.group("partition", "service", "region", "account", "resource")
    if partition not in KNOWN_PARTITIONS:
        return Invalid(f"The ARN's partition {partition!r} is not an AWS partition.")
    if service != "iam" or region:
        return Invalid(
            "That ARN is not an IAM role (it names another service).",
            "Copy RoleArn from the Outputs tab of the CloudFormation stack.",
        )
    if not _ACCOUNT.match(account):
        return Invalid(f"The account in the ARN must be exactly 12 digits; it has {len(account)} characters.")
    kind, _, rest = resource.partition("/")
    if kind == "role" and (not rest or rest.endswith("/")):
        return Invalid("The ARN has no role name after role/.", "Copy RoleArn from the Outputs tab of the CloudFormation stack.")
    if kind != "role":
        return Invalid(
            f"That ARN names an IAM {kind or 'resource'}, not a role.",
            "Copy RoleArn from the Outputs tab of the CloudFormation stack (it contains :role/).",
        )
    *path_parts, name = rest.split("/")
    if not _ROLE_NAME.match(name):
        if len(name) > 64:
            return Invalid(f"Role names are at most 64 characters; this one has {len(name)}.")
        return Invalid("The role name may only contain letters, digits and + = , . @ _ -.")
    if any(not _ROLE_PATH_PART.match(part) for part in path_parts):
        return Invalid("The role's path has an empty segment or characters IAM does not allow.")
    if partition != "aws":
        return Invalid(
            f"That role is in the {partition} partition; Eco runs in the standard aws partition only.",
            "Connect an account from the standard AWS partition (ARNs that start with arn:aws:).",
        )
    path = "/" + "".join(part + "/" for part in path_parts)
    return RoleArn(partition=partition, account=account, path=path, name=name)


def parse_decision_ref(text: str) -> tuple[int, int | None] | Invalid:
    """An approval button's value: `<connection>:<round>`. A bare `<connection>` (typed in the terminal, or
    a button from before rounds existed) means the request open now: round None."""
    connection, _, round_ = text.strip().partition(":")
    number = parse_connection_ref(connection)
    if isinstance(number, Invalid):
        return number
    if not round_:
        return number, None
    if not (round_.isascii() and round_.isdigit() and len(round_) <= 6):
        return Invalid("That button's value is not one the bot made.")
    return number, int(round_)


def parse_connection_ref(text: str) -> int | Invalid:
    """`12` or `#12`."""
    value = clean(text).removeprefix("#")
    if value.isascii() and value.isdigit() and len(value) <= 9 and int(value) > 0:
        return int(value)
    return Invalid("A connection is named by its number, such as 12 (see /eco status).")


_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)


def parse_external_id(text: str) -> str | Invalid:
    """An STS external ID as AWS accepts it: 2-1224 of letters, digits and `+=,.@:/-_`."""
    value = clean(text)
    if not value:
        return Invalid("The external ID is empty.", "Copy it from the connection's thread or the stack's ExternalId parameter.")
    if not _EXTERNAL_ID.match(value):
        return Invalid(
            "An external ID is 2 to 1224 characters of letters, digits and + = , . @ : / - _ only.",
            "Copy it from the connection's thread or the stack's ExternalId parameter.",
        )
    return value

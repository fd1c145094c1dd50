"""The customer-facing CloudFormation template and the quick-create link that launches it.

This module owns:

* access to the packaged ``template.yaml`` (the read-only role customers create),
* the names of its parameters and output, kept here so that the link builder, the
  verifier and the template cannot drift apart (a test compares them with the YAML),
* the AWS console quick-create URL with every parameter pre-filled,
* the stack name derived from a connection.

It makes no AWS calls.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import astuple, dataclass
from importlib.resources import files
from urllib.parse import quote

TEMPLATE_RESOURCE = "template.yaml"

# The console link always opens us-east-1: the CUR bucket must live there and
# IAM is global, so launching the stack anywhere else gains nothing.
CONSOLE_REGION = "us-east-1"

# Name of the Outputs entry holding the role ARN the customer pastes back.
ROLE_ARN_OUTPUT = "RoleArn"

STACK_NAME_PREFIX = "eco-connect"
STACK_NAME_MAX_LENGTH = 128
# CloudFormation's own rule for stack names.
STACK_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")


@dataclass(frozen=True)
class ParameterNames:
    """Names of the template's Parameters, as the console expects them after ``param_``."""

    external_id: str = "ExternalId"
    cur_bucket_name: str = "CurBucketName"
    trusted_principal_arn: str = "TrustedPrincipalArn"

    def as_tuple(self) -> tuple[str, ...]:
        """All names, in the order the quick-create link lists them."""
        return astuple(self)


PARAMETER_NAMES = ParameterNames()


def template_text() -> str:
    """Return the packaged CloudFormation template (YAML) as text."""
    return files("bot.aws").joinpath(TEMPLATE_RESOURCE).read_text(encoding="utf-8")


def _q(value: str) -> str:
    # safe="" so that "/", ":", "&", "=" and "#" inside values cannot break out
    # of the fragment's query string.
    return quote(value, safe="")


def quick_create_url(
    *,
    template_url: str,
    stack_name: str,
    bucket: str,
    external_id: str,
    trusted_principal_arn: str,
) -> str:
    """Build the console link that opens "Quick create stack" with every parameter filled in.

    The IAM-capabilities acknowledgement cannot be pre-ticked through the link; the
    customer still has to tick it.
    """
    if not STACK_NAME_PATTERN.fullmatch(stack_name):
        raise ValueError(f"invalid CloudFormation stack name: {stack_name!r}")
    params = [
        ("templateURL", template_url),
        ("stackName", stack_name),
        (f"param_{PARAMETER_NAMES.external_id}", external_id),
        (f"param_{PARAMETER_NAMES.cur_bucket_name}", bucket),
        (f"param_{PARAMETER_NAMES.trusted_principal_arn}", trusted_principal_arn),
    ]
    query = "&".join(f"{key}={_q(value)}" for key, value in params)
    return (
        f"https://{CONSOLE_REGION}.console.aws.amazon.com/cloudformation/home"
        f"?region={CONSOLE_REGION}#/stacks/quickcreate?{query}"
    )


def _slug(label: str) -> str:
    # Fold accents to ASCII ("Café" -> "cafe") so labels in other scripts keep
    # what they can; anything left that is not [a-z0-9] becomes one hyphen.
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_label.lower()).strip("-")


def stack_name_for(connection_id: int, label: str | None) -> str:
    """Return a valid, readable stack name: ``eco-connect-<slug>-<id>`` or ``eco-connect-<id>``.

    The id keeps names unique per connection; the slug is only a hint for humans and
    is shortened (never the id) to fit CloudFormation's 128-character limit.
    """
    if isinstance(connection_id, bool) or not isinstance(connection_id, int) or connection_id < 0:
        raise ValueError(f"connection_id must be a non-negative int, got {connection_id!r}")
    bare = f"{STACK_NAME_PREFIX}-{connection_id}"
    if len(bare) > STACK_NAME_MAX_LENGTH:
        raise ValueError(f"connection_id too large for a stack name: {connection_id}")
    room = max(STACK_NAME_MAX_LENGTH - len(bare) - 1, 0)  # 1 for the hyphen before the slug
    # Cutting may leave a trailing hyphen; strip it so "--" never appears.
    slug = _slug(label or "")[:room].rstrip("-")
    return f"{STACK_NAME_PREFIX}-{slug}-{connection_id}" if slug else bare

"""IAM for the fake AWS: who is calling, and whether a policy lets them.

moto authenticates nobody and enforces no policy, so the fakes in front of it (aws_gateway.py, aws_billing.py)
ask this module instead. It reads moto's in-process backends (the server runs in this process) and owns:

* ``caller_of``: the identity behind an access key, as AWS would name it;
* ``trust_allows``: whether a role's trust policy lets a caller sts:AssumeRole, with or without an ExternalId;
* ``identity_decision``: what an assumed-role session's own policies say about an action on a resource;
* ``resource_policy_allows``: whether a resource policy (a bucket policy) grants a service principal an action.

Only what the tests need is modelled. Whatever is not understood (an unknown condition operator or key, a
principal type other than AWS/Service) fails closed, so a test can never pass because the fake was lenient.
"""

from __future__ import annotations

import ast
import enum
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable
from urllib.parse import unquote

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.models import sts_backends

# moto answers for unknown keys as this user; AWS would name it with iam, not sts.
DEFAULT_CALLER_ARN = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/moto"


@dataclass(frozen=True)
class Caller:
    """An identity as AWS names it in errors: a user ARN, or an assumed-role session ARN and its role."""

    arn: str
    account_id: str
    role_arn: str | None = None  # set for assumed-role sessions only


class Decision(enum.Enum):
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit"  # no statement allows it
    EXPLICIT_DENY = "explicit"  # a Deny statement matches: wins over any Allow


def caller_of(access_key_id: str) -> Caller:
    """The identity that owns an access key, per moto's IAM users and STS sessions; unknown keys are moto's default."""
    account_id = get_account_id_from(access_key_id)
    session = sts_backends[account_id]["aws"].get_assumed_role_from_access_key(access_key_id)
    if session is not None:
        return Caller(session.arn, account_id, session.role_arn)
    user = iam_backends[account_id]["global"].get_user_from_access_key_id(access_key_id)
    if user is not None:
        return Caller(user.arn, account_id, None)
    return Caller(DEFAULT_CALLER_ARN, DEFAULT_ACCOUNT_ID, None)


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def find_role(role_arn: str) -> Any | None:
    """The moto IAM role with this exact ARN, in the ARN's own account; None when there is none."""
    account_id = account_of(role_arn)
    if not re.fullmatch(r"\d{12}", account_id):
        return None
    # The ARN's account need not exist yet: never create a backend just to look.
    if account_id not in iam_backends:
        return None
    return next((role for role in list(iam_backends[account_id]["global"].get_roles()) if role.arn == role_arn), None)


def document(value: Any) -> dict:
    """A policy document as a dict, whichever way moto stored it.

    IAM returns JSON (sometimes URL-encoded); moto keeps the inline policies of a CloudFormation-made role as
    the Python dict itself and may hand back its repr(), which is not JSON.
    """
    if isinstance(value, dict):
        return value
    text = str(value)
    if text.startswith("%7B"):
        text = unquote(text)
    try:
        return json.loads(text)
    except ValueError:
        return ast.literal_eval(text)


def _statements(policy: dict) -> list[dict]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern:
    # IAM wildcards: * is any run of characters, ? exactly one; nothing else is special.
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _like(patterns: Iterable[str], value: str, *, ignore_case: bool = False) -> bool:
    return any(_glob(str(p), ignore_case).fullmatch(value) for p in patterns)


def _action_matches(statement: dict, action: str) -> bool:
    # Action names are case-insensitive ("s3:listbucket" is s3:ListBucket).
    if "NotAction" in statement:
        return not _like(_as_list(statement["NotAction"]), action, ignore_case=True)
    return _like(_as_list(statement.get("Action")), action, ignore_case=True)


def _resource_matches(statement: dict, resource: str) -> bool:
    if "NotResource" in statement:
        return not _like(_as_list(statement["NotResource"]), resource)
    if "Resource" not in statement:  # trust policies name no resource
        return True
    return _like(_as_list(statement["Resource"]), resource)


# Condition operators understood; each takes the request's value and the policy's values.
_OPERATORS = {
    "StringEquals": lambda value, wanted: value in wanted,
    "StringLike": lambda value, wanted: _like(wanted, value),
    "ArnEquals": lambda value, wanted: value in wanted,
    "ArnLike": lambda value, wanted: _like(wanted, value),
}


def _conditions_hold(statement: dict, context: dict[str, str]) -> bool:
    """Every operator and key must hold (AND); any listed value may match (OR).

    A key absent from the request fails its condition, as in AWS (an AssumeRole without ExternalId does not
    satisfy StringEquals sts:ExternalId). Unknown operators fail closed.
    """
    known = {key.lower(): value for key, value in context.items()}
    for operator, clauses in (statement.get("Condition") or {}).items():
        test = _OPERATORS.get(operator)
        if test is None or not isinstance(clauses, dict):
            return False
        for key, wanted in clauses.items():
            value = known.get(key.lower())
            if value is None or not test(value, [str(w) for w in _as_list(wanted)]):
                return False
    return True


def _aws_principal_matches(entries: list[str], caller: Caller) -> bool:
    for entry in entries:
        if entry == "*":
            return True
        if re.fullmatch(r"\d{12}", entry) or re.fullmatch(r"arn:aws:iam::\d{12}:root", entry):
            # The account (its root) delegates to every identity in it; the identity's own policy decides.
            if account_of(entry) == caller.account_id or entry == caller.account_id:
                return True
        elif entry in (caller.arn, caller.role_arn):
            # A role ARN in a trust policy matches every session of that role.
            return True
    return False


def _principal_matches(statement: dict, *, caller: Caller | None = None, service: str | None = None) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if set(principal) - {"AWS", "Service"}:
        return False  # Federated, CanonicalUser...: not modelled, so not trusted
    if caller is not None and _aws_principal_matches([str(p) for p in _as_list(principal.get("AWS"))], caller):
        return True
    return service is not None and service in _as_list(principal.get("Service"))


def _evaluate(
    policies: Iterable[dict], action: str, resource: str, context: dict[str, str], principal: dict | None = None
) -> Decision:
    allowed = False
    for policy in policies:
        for statement in _statements(policy):
            if principal is not None and not _principal_matches(statement, **principal):
                continue
            if not (_action_matches(statement, action) and _resource_matches(statement, resource)):
                continue
            if not _conditions_hold(statement, context):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = allowed or statement.get("Effect") == "Allow"
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def trust_allows(role: Any, caller: Caller, external_id: str | None) -> bool:
    """Whether the role's trust policy lets the caller sts:AssumeRole, presenting external_id (None: absent)."""
    context = {"sts:ExternalId": external_id} if external_id is not None else {}
    policy = document(role.assume_role_policy_document)
    return _evaluate([policy], "sts:AssumeRole", role.arn, context, {"caller": caller}) is Decision.ALLOW


def role_policies(role: Any) -> list[dict]:
    """The role's identity policies: its inline policies and the default version of each attached managed policy."""
    inline = [document(text) for text in list(role.policies.values())]
    managed = [
        document(version.document)
        for policy in list(role.managed_policies.values())
        for version in policy.versions
        if version.is_default
    ]
    return inline + managed


def identity_decision(caller: Caller, action: str, resource: str = "*") -> Decision:
    """What the caller's own policies say about `action` on `resource`.

    Only sessions of a role that exists in moto's IAM are restricted, by that role's policies. IAM users, moto's
    default identity and sessions of roles IAM does not know act as administrators (moto's own behaviour).
    """
    if caller.role_arn is None:
        return Decision.ALLOW
    role = find_role(caller.role_arn)
    if role is None:
        return Decision.ALLOW
    return _evaluate(role_policies(role), action, resource, {})


def resource_policy_allows(policy: dict | None, *, service: str, action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether a resource policy grants the AWS service principal `service` (e.g. billingreports.amazonaws.com)."""
    if not policy:
        return False
    return _evaluate([policy], action, resource, context, {"service": service}) is Decision.ALLOW


def denial_message(caller: Caller, action: str, resource: str, decision: Decision) -> str:
    """AWS's wording for an identity-policy denial."""
    why = (
        "with an explicit deny in an identity-based policy"
        if decision is Decision.EXPLICIT_DENY
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource} {why}"

"""The validators for what users type: S3 bucket names, IAM role ARNs and connection references.

Every S3 naming rule and every way a role ARN can be wrong gets its own, specific refusal (checked by a
distinguishing fragment of `Invalid.reason`); harmless wrappers a chat client adds are trimmed. Property
tests check that no input, however hostile, makes a validator raise, and that what is accepted is sound.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.identifiers import (
    Invalid,
    RoleArn,
    clean,
    parse_bucket_name,
    parse_connection_ref,
    parse_external_id,
    parse_role_arn,
)

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/EcoRole"
TEN_KB = "a" * 10_240

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Arbitrary text: every unicode code point Hypothesis generates, and decoded random bytes (which yields
# U+FFFD replacement characters and stray control bytes, as a broken paste would).
any_text = st.one_of(
    st.text(),
    st.binary().map(lambda b: b.decode("utf-8", "replace")),
    # Text shaped like the real answers, so the deeper branches are reached too.
    st.builds(lambda a, b: a + b, st.sampled_from(["arn:aws:iam::", ROLE, "s3://", "#", "`", "<", "acme-"]), st.text()),
)


def reason_of(result: object) -> str:
    assert isinstance(result, Invalid), f"expected a refusal, got {result!r}"
    assert result.reason
    return result.reason


# --- parse_bucket_name ---------------------------------------------------------------------------

BUCKET_REFUSALS = [
    pytest.param("MyBucket", "uppercase", id="uppercase"),
    pytest.param("ab", "3 to 63 characters long; this one has 2", id="two-chars"),
    pytest.param("a" * 64, "3 to 63 characters long; this one has 64", id="64-chars"),
    pytest.param("192.168.1.1", "IP address", id="ip-shaped"),
    pytest.param("my..bucket", "two adjacent dots", id="adjacent-dots"),
    pytest.param("-bucket", "begin and end with a letter or a digit", id="leading-hyphen"),
    pytest.param("bucket-", "begin and end with a letter or a digit", id="trailing-hyphen"),
    pytest.param("xn--bucket", "reserved prefix xn--", id="prefix-xn"),
    pytest.param("sthree-x", "reserved prefix sthree-", id="prefix-sthree"),
    pytest.param("amzn-s3-demo-x", "reserved prefix amzn-s3-demo-", id="prefix-amzn-s3-demo"),
    pytest.param("bucket-s3alias", "reserved suffix -s3alias", id="suffix-s3alias"),
    pytest.param("b--ol-s3", "reserved suffix --ol-s3", id="suffix-ol-s3"),
    pytest.param("b.mrap", "reserved suffix .mrap", id="suffix-mrap"),
    pytest.param("b--x-s3", "reserved suffix --x-s3", id="suffix-x-s3"),
    pytest.param("b--table-s3", "reserved suffix --table-s3", id="suffix-table-s3"),
    pytest.param("\u0430cme-cur", "look-alike", id="cyrillic-a"),
    pytest.param("\uff41\uff43\uff4d\uff45", "look-alike", id="fullwidth-letters"),
    pytest.param("<!channel>", "only lowercase letters, digits, dots", id="slack-channel-ping"),
    pytest.param("<@U123>", "uppercase", id="slack-user-mention"),
    pytest.param(TEN_KB, "10,240 characters long", id="10kB"),
    pytest.param("", "empty", id="empty"),
    pytest.param(" \t\n ", "empty", id="whitespace-only"),
    pytest.param("acme cur", "no spaces", id="inner-space"),
    pytest.param("s3://acme/prefix", "not a URL or ARN", id="s3-url"),
    pytest.param("arn:aws:s3:::acme", "not a URL or ARN", id="s3-arn"),
]


@pytest.mark.parametrize(("text", "fragment"), BUCKET_REFUSALS)
def test_bucket_name_refused_with_specific_reason(text: str, fragment: str) -> None:
    assert fragment in reason_of(parse_bucket_name(text))


def test_bucket_rules_each_have_their_own_message() -> None:
    """No two S3 rules share a sentence: the user always learns which rule was broken."""
    rule_examples = ["MyBucket", "ab", "192.168.1.1", "my..bucket", "-bucket", "xn--bucket", "b.mrap", "a_b"]
    reasons = [reason_of(parse_bucket_name(text)) for text in rule_examples]
    assert len(set(reasons)) == len(reasons)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("acme-cur", id="hyphen"),
        pytest.param("a.b-c1", id="dot-hyphen-digit"),
        pytest.param("abc", id="3-chars"),
        pytest.param("a" * 63, id="63-chars"),
    ],
)
def test_bucket_name_accepted(text: str) -> None:
    assert parse_bucket_name(text) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("  acme-cur \n", id="whitespace-and-newline"),
        pytest.param("`acme-cur`", id="backticks"),
        pytest.param('"acme-cur"', id="double-quotes"),
    ],
)
def test_bucket_name_harmless_wrappers_trimmed(text: str) -> None:
    assert parse_bucket_name(text) == "acme-cur"


# --- parse_role_arn ------------------------------------------------------------------------------


def test_role_arn_accepted() -> None:
    assert parse_role_arn(ROLE) == RoleArn(partition="aws", account=ACCOUNT, path="/", name="EcoRole")


def test_role_arn_with_path() -> None:
    text = f"arn:aws:iam::{ACCOUNT}:role/eco/team/EcoRole"
    result = parse_role_arn(text)
    assert isinstance(result, RoleArn)
    assert (result.path, result.name, result.account) == ("/eco/team/", "EcoRole", ACCOUNT)
    assert str(result) == text


def test_role_arn_str_round_trips() -> None:
    assert str(parse_role_arn(ROLE)) == ROLE


def test_role_name_of_64_chars_accepted() -> None:
    name = "R" * 64
    result = parse_role_arn(f"arn:aws:iam::{ACCOUNT}:role/{name}")
    assert isinstance(result, RoleArn)
    assert result.name == name


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(ROLE + "\n", id="trailing-newline"),
        pytest.param(f"`{ROLE}`", id="backticks"),
        pytest.param(f"  `{ROLE}`\n", id="backticks-and-whitespace"),
    ],
)
def test_role_arn_harmless_wrappers_trimmed(text: str) -> None:
    assert parse_role_arn(text) == parse_role_arn(ROLE)


ROLE_REFUSALS = [
    pytest.param(f"arn:aws:iam::{ACCOUNT}:user/bob", "names an IAM user, not a role", id="user-arn"),
    pytest.param(f"arn:aws-cn:iam::{ACCOUNT}:role/X", "aws partition", id="partition-aws-cn"),
    pytest.param(f"arn:aws-us-gov:iam::{ACCOUNT}:role/X", "aws partition", id="partition-aws-us-gov"),
    pytest.param("arn:aws:iam::11112222333:role/X", "exactly 12 digits; it has 11", id="account-11-digits"),
    pytest.param("arn:aws:iam::1111222233334:role/X", "exactly 12 digits; it has 13", id="account-13-digits"),
    pytest.param(f"arn:aws:iam::{ACCOUNT}:role/{'R' * 65}", "at most 64 characters; this one has 65", id="name-65"),
    pytest.param(f"arn:aws:iam::{ACCOUNT}:role/Eco Role", "no spaces", id="inner-space"),
    pytest.param("EcoRole please", "no spaces", id="sentence"),
    pytest.param("EcoRole", "not an ARN", id="not-an-arn"),
    pytest.param("arn:aws:s3:::bucket", "not an IAM role", id="s3-arn"),
    pytest.param(f"arn:aws:iam::{ACCOUNT}:role//X", "empty segment", id="empty-path-segment"),
    pytest.param(f"arn:aws:iam::{ACCOUNT}:r\u043ele/X", "look-alike", id="cyrillic-o"),
    pytest.param(f"arn:aws:iam::{ACCOUNT}:role/\uff25co", "look-alike", id="fullwidth-letter"),
    pytest.param("<!channel>", "not an ARN", id="slack-channel-ping"),
    pytest.param(TEN_KB, "10,240 characters long", id="10kB"),
    pytest.param("", "empty", id="empty"),
]


@pytest.mark.parametrize(("text", "fragment"), ROLE_REFUSALS)
def test_role_arn_refused_with_specific_reason(text: str, fragment: str) -> None:
    assert fragment in reason_of(parse_role_arn(text))


def test_role_arn_other_partition_refused_although_well_formed() -> None:
    """aws-cn is a real partition: the refusal is about where Eco runs, not about the ARN's shape."""
    reason = reason_of(parse_role_arn(f"arn:aws-cn:iam::{ACCOUNT}:role/X"))
    assert "aws-cn" in reason
    assert "standard aws partition" in reason


def test_role_arn_with_empty_name_says_the_name_is_missing() -> None:
    reason = reason_of(parse_role_arn(f"arn:aws:iam::{ACCOUNT}:role/"))
    assert "IAM role, not a role" not in reason
    assert "name" in reason


def test_role_arn_with_empty_name_is_refused() -> None:
    """Whatever the wording, `role/` with nothing after it is never accepted."""
    reason_of(parse_role_arn(f"arn:aws:iam::{ACCOUNT}:role/"))


# --- parse_connection_ref ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        pytest.param("12", 12, id="bare"),
        pytest.param("#12", 12, id="hash"),
        pytest.param(" 7 ", 7, id="padded"),
        pytest.param("999999999", 999_999_999, id="nine-digits"),
    ],
)
def test_connection_ref_accepted(text: str, number: int) -> None:
    assert parse_connection_ref(text) == number


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("abc", id="letters"),
        pytest.param("-1", id="negative"),
        pytest.param("\u0661\u0662", id="arabic-indic-digits"),
        pytest.param("1234567890", id="ten-digits"),
        pytest.param("", id="empty"),
        pytest.param("#", id="hash-only"),
        pytest.param("1 2", id="inner-space"),
        pytest.param("\uff11\uff12", id="fullwidth-digits"),
    ],
)
def test_connection_ref_refused(text: str) -> None:
    reason_of(parse_connection_ref(text))


@pytest.mark.parametrize("text", [pytest.param("0", id="zero"), pytest.param("#00", id="hash-zeros")])
def test_connection_ref_zero_refused(text: str) -> None:
    reason_of(parse_connection_ref(text))


# --- properties ----------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(any_text)
def test_clean_never_raises_and_returns_text(text: str) -> None:
    result = clean(text)
    assert isinstance(result, str)
    assert len(result) <= len(text)


@PROPERTY_SETTINGS
@given(any_text)
def test_parse_bucket_name_never_raises(text: str) -> None:
    result = parse_bucket_name(text)
    assert isinstance(result, str) or (isinstance(result, Invalid) and result.reason)


@PROPERTY_SETTINGS
@given(any_text)
def test_parse_role_arn_never_raises(text: str) -> None:
    result = parse_role_arn(text)
    assert isinstance(result, RoleArn) or (isinstance(result, Invalid) and result.reason)


@PROPERTY_SETTINGS
@given(any_text)
def test_parse_connection_ref_never_raises(text: str) -> None:
    result = parse_connection_ref(text)
    assert (isinstance(result, int) and not isinstance(result, bool)) or (isinstance(result, Invalid) and result.reason)


@PROPERTY_SETTINGS
@given(any_text)
def test_parse_external_id_never_raises_and_accepts_only_what_sts_does(text: str) -> None:
    result = parse_external_id(text)
    assert isinstance(result, Invalid) and result.reason or re.fullmatch(r"[\w+=,.@:/-]{2,1224}", result, re.ASCII)


@pytest.mark.parametrize("value", ["", "x", "has space", "a" * 1225, "ünïcode", "eco-<!channel>"])
def test_a_bad_external_id_is_refused(value: str) -> None:
    assert isinstance(parse_external_id(value), Invalid)


def test_the_ids_the_bot_issues_are_valid_external_ids() -> None:
    assert parse_external_id("eco-Q2x_9-aB") == "eco-Q2x_9-aB"


@PROPERTY_SETTINGS
@given(any_text)
def test_accepted_bucket_name_is_3_to_63_of_allowed_chars(text: str) -> None:
    result = parse_bucket_name(text)
    if isinstance(result, str):
        assert re.fullmatch(r"[a-z0-9.-]{3,63}", result)


@PROPERTY_SETTINGS
@given(st.from_regex(r"[a-z0-9][a-z0-9.-]{0,61}[a-z0-9]?", fullmatch=True).map(lambda s: s[:63]))
def test_accepted_bucket_name_is_3_to_63_of_allowed_chars_for_bucket_shaped_text(text: str) -> None:
    """The same property, with inputs close enough to bucket names that many are accepted."""
    result = parse_bucket_name(text)
    if isinstance(result, str):
        assert re.fullmatch(r"[a-z0-9.-]{3,63}", result)


ROLE_PART = r"[A-Za-z0-9_+=,.@-]"
role_arns = st.from_regex(
    rf"arn:aws:iam::[0-9]{{12}}:role/({ROLE_PART}{{1,8}}/){{0,3}}{ROLE_PART}{{1,64}}", fullmatch=True
)


@PROPERTY_SETTINGS
@given(st.one_of(any_text, role_arns))
def test_accepted_role_arn_round_trips(text: str) -> None:
    result = parse_role_arn(text)
    if isinstance(result, RoleArn):
        assert parse_role_arn(str(result)) == result


@PROPERTY_SETTINGS
@given(role_arns)
def test_well_formed_role_arn_accepted_and_round_trips(text: str) -> None:
    result = parse_role_arn(text)
    assert isinstance(result, RoleArn)
    assert str(result) == text


@PROPERTY_SETTINGS
@given(st.integers(min_value=1, max_value=999_999_999), st.sampled_from(["", "#"]), st.sampled_from(["", " ", "\n"]))
def test_connection_ref_of_any_positive_number(number: int, hash_sign: str, padding: str) -> None:
    assert parse_connection_ref(f"{padding}{hash_sign}{number}{padding}") == number


# Built from the S3 rules: starts and ends with a letter or digit, only [a-z0-9.-], no "..", 3-63 chars.
valid_bucket_names = (
    st.from_regex(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", fullmatch=True)
    .map(lambda name: re.sub(r"\.{2,}", ".", name))
    .filter(lambda name: 3 <= len(name) <= 63)
)
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def hits_reserved_or_ip_shape(name: str) -> bool:
    return (
        name.startswith(RESERVED_PREFIXES)
        or name.endswith(RESERVED_SUFFIXES)
        or re.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}", name) is not None
    )


@PROPERTY_SETTINGS
@given(st.one_of(valid_bucket_names, st.sampled_from(["xn--abc", "abc--ol-s3", "10.0.0.1", "sthree-1"])))
def test_valid_bucket_name_accepted_unless_reserved_or_ip(name: str) -> None:
    result = parse_bucket_name(name)
    if hits_reserved_or_ip_shape(name):
        assert isinstance(result, Invalid)
    else:
        assert result == name

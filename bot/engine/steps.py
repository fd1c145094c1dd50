"""The steps of a connection and what each one means: one declarative table, read by the engine and
the messages alike, so that "where it stands" and "what it waits for" are never written twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Step(StrEnum):
    AWAITING_BUCKET = "awaiting_bucket"
    CHECKING_BUCKET = "checking_bucket"
    AWAITING_BUCKET_APPROVAL = "awaiting_bucket_approval"  # only when ECO_APPROVAL_STEPS includes bucket
    AWAITING_ROLE = "awaiting_role"
    CHECKING_ROLE = "checking_role"
    AWAITING_APPROVAL = "awaiting_approval"
    PROCESSING = "processing"
    ACTIVE = "active"  # the window ended and report data is arriving
    NEEDS_ATTENTION = "needs_attention"  # the window ended without readable data: the thread says what to fix
    EXPIRED = "expired"  # a question went unanswered for ECO_EXPIRE_AFTER
    COMPLETE = "complete"  # no longer entered (the window's end now checks the data: active or needs attention)
    REJECTED = "rejected"  # no longer entered (a rejection returns to the question); kept for old rows
    CANCELLED = "cancelled"


# The checklist a connection's root message shows, in order.
PHASES = (
    "Cost and Usage Report bucket",
    "Read-only role (CloudFormation stack)",
    "Approval",
    "Initial processing",
)


@dataclass(frozen=True)
class StepInfo:
    phase: int  # index into PHASES of the phase this step belongs to (len(PHASES) once all are done)
    label: str  # where it stands, for /eco status
    waits_for: str  # what it waits for ("" when finished)
    finished: bool = False
    failed: bool = False  # shown as a failure at its phase (a rejection, data that did not arrive)


STEPS: dict[Step, StepInfo] = {
    Step.AWAITING_BUCKET: StepInfo(0, "waiting for the bucket name", "the CUR bucket name, as a reply in the thread"),
    Step.CHECKING_BUCKET: StepInfo(0, "checking the bucket", "the bucket checks to finish"),
    Step.AWAITING_BUCKET_APPROVAL: StepInfo(
        0, "waiting for approval of the bucket", "approvers to press Approve or Reject in the thread"
    ),
    Step.AWAITING_ROLE: StepInfo(1, "waiting for the role ARN", "the role ARN from the stack's Outputs, as a reply in the thread"),
    Step.CHECKING_ROLE: StepInfo(1, "checking the role", "the role checks to finish"),
    Step.AWAITING_APPROVAL: StepInfo(2, "waiting for approval", "approvers to press Approve or Reject in the thread"),
    Step.PROCESSING: StepInfo(3, "processing", "Eco's initial processing window to end"),
    Step.ACTIVE: StepInfo(4, "active: report data is arriving", "", finished=True),
    Step.NEEDS_ATTENTION: StepInfo(
        3, "needs attention: no readable report data", "the fixes listed in the thread, then /eco verify", failed=True
    ),
    Step.COMPLETE: StepInfo(4, "connected", "", finished=True),
    Step.REJECTED: StepInfo(2, "rejected", "", finished=True, failed=True),
    Step.CANCELLED: StepInfo(-1, "cancelled", "", finished=True),  # phase -1: stopped wherever it was
    Step.EXPIRED: StepInfo(-1, "expired: a question went unanswered", "", finished=True),
}

CHECKING = {Step.CHECKING_BUCKET: Step.AWAITING_BUCKET, Step.CHECKING_ROLE: Step.AWAITING_ROLE}
AWAITING_ANSWER = {Step.AWAITING_BUCKET: Step.CHECKING_BUCKET, Step.AWAITING_ROLE: Step.CHECKING_ROLE}
# What each question asks for, in the bot's words.
ANSWER_FOR = {Step.AWAITING_BUCKET: "bucket name", Step.AWAITING_ROLE: "role ARN"}

# Approval: which answer each approval step is about, where approval leads, and where a rejection sends the
# conversation back (to the question, so that the requester can correct the answer and resubmit).
APPROVAL_FOR = {Step.AWAITING_BUCKET_APPROVAL: "bucket", Step.AWAITING_APPROVAL: "role"}
AFTER_APPROVAL = {Step.AWAITING_BUCKET_APPROVAL: Step.AWAITING_ROLE, Step.AWAITING_APPROVAL: Step.PROCESSING}
AFTER_REJECTION = {Step.AWAITING_BUCKET_APPROVAL: Step.AWAITING_BUCKET, Step.AWAITING_APPROVAL: Step.AWAITING_ROLE}

# Where the end of the processing window leads: data readable, or not.
WINDOW_OUTCOMES = (Step.ACTIVE, Step.NEEDS_ATTENTION)

"""The Slack adapter: a Bolt app whose listeners turn Slack payloads into engine calls.

Every listener is an acknowledgement and a lazy function (Bolt's lazy listeners, with `process_before_response`
on): the ack runs on the request's own thread and answers Slack at once, and the work runs afterwards on the
executor. So an ack never waits behind other conversations' work in the executor's queue, and nothing slow, no
AWS call and no database write happens before Slack gets its answer.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.engine.content import Message
from bot.engine.conversation import Engine
from bot.engine.ports import Actor
from bot.slack import render
from bot.workers import EngineProxy

log = logging.getLogger(__name__)

# Message subtypes that are a person writing; everything else (edits, joins, bots) is not an answer.
HUMAN_SUBTYPES = {None, "thread_broadcast"}


def build_bolt_app(
    *, engine: Engine | EngineProxy, client: WebClient, signing_secret: str | None, executor: Executor
) -> App:
    """`engine` is the engine, or its proxy in worker processes (ECO_WORKER_PROCESSES); `executor` runs the lazy
    functions after their ack, and its owner drains it on shutdown."""
    app = App(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        # auth.test once, here at start: Bolt caches it, so no request waits for it before its ack,
        # and a revoked or mistyped token stops the start instead of failing every request.
        token_verification_enabled=True,
        process_before_response=True,  # the ack functions below are all that runs before the response
        listener_executor=executor,  # runs the lazy functions
        logger=logging.getLogger("slack_bolt"),
    )

    def on_command(command: dict[str, Any], respond: Respond) -> None:
        actor = Actor(team=command["team_id"], user=command["user_id"], channel=command["channel_id"])
        _respond(respond, engine.command(actor, command.get("text") or ""))

    app.command("/eco")(ack=_ack, lazy=[on_command])

    def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("subtype") not in HUMAN_SUBTYPES or event.get("bot_id") or not event.get("user"):
            return
        thread = event.get("thread_ts")
        in_thread = bool(thread) and thread != event.get("ts")
        direct = event.get("channel_type") == "im"
        if not in_thread and not direct:
            return  # a message in a channel, outside our threads: not for us
        team = body.get("team_id") or event.get("team") or ""
        event_id = body.get("event_id")
        if event_id and engine.already_seen(team, event_id):
            log.info("event %s was already handled (retry %s)", event_id, body.get("retry_attempt"))
            return
        actor = Actor(team=team, user=event["user"], channel=event["channel"])
        if in_thread:
            engine.reply(actor, thread, event.get("text") or "")
        else:
            engine.direct_message(actor)

    app.event("message")(ack=_ack, lazy=[on_message])

    def on_approve(body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        refusal = engine.decide(_clicker(body), str(action.get("value") or ""), "approve", message_id=_clicked_message(body))
        if refusal is not None:
            _respond(respond, refusal)

    app.action("eco_approve")(ack=_ack, lazy=[on_approve])

    def on_reject(body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        # A rejection needs a reason: ask for it in a modal (its trigger lasts 3 s), but only someone who may reject gets one.
        actor, value = _clicker(body), str(action.get("value") or "")
        refusal = engine.reject_refusal(actor, value)
        if refusal is not None:
            _respond(respond, refusal)
            return
        try:
            client.views_open(trigger_id=body.get("trigger_id") or "", view=render.reject_modal(value, actor.channel, _clicked_message(body)))
        except Exception as error:  # an expired trigger (3 s), for instance: say so instead of staying silent
            log.warning("could not open the rejection form: %s", type(error).__name__)
            _respond(respond, Message.text("I could not open the rejection form; press Reject again. Nothing was changed."))

    app.action("eco_reject")(ack=_ack, lazy=[on_reject])

    def check_reason(ack: Ack, view: dict[str, Any]) -> None:
        # The form's own answer: Slack shows the error under the field and keeps the form open.
        if not render.reject_reason(view):  # the form requires one; a crafted payload may still send none
            ack(response_action="errors", errors={render.REASON_BLOCK: "Say why, so that the requester knows what to correct."})
        else:
            ack()

    def on_reject_reason(body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = render.reject_reason(view)
        if not reason:
            return  # refused in check_reason
        value, channel, message = render.reject_metadata(view)
        user = (body.get("user") or {}).get("id") or ""
        actor = Actor(team=(body.get("team") or {}).get("id") or "", user=user, channel=channel)
        refusal = engine.decide(actor, value, "reject", reason, message_id=message or None)
        if refusal is not None and channel and user:
            try:
                client.chat_postEphemeral(channel=channel, user=user, text=render.fallback_text(refusal), blocks=render.blocks(refusal))
            except Exception as error:
                log.warning("could not answer privately: %s", type(error).__name__)

    app.view(render.REJECT_CALLBACK)(ack=check_reason, lazy=[on_reject_reason])

    def on_home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Also sent for the Messages tab (where the window-end DM arrives), which needs nothing from us.
        if event.get("tab") != "home" or not event.get("user"):
            return
        team = body.get("team_id") or event.get("team") or ""
        engine.show_home(Actor(team=team, user=event["user"], channel=event.get("channel") or ""))

    app.event("app_home_opened")(ack=_ack, lazy=[on_home_opened])

    def on_uninstalled(ack: Ack, event: dict[str, Any], body: dict[str, Any]) -> None:
        ack()
        log.warning("Slack reported %s for team %s", event.get("type"), body.get("team_id"))

    app.event({"type": "app_uninstalled"})(on_uninstalled)
    app.event({"type": "tokens_revoked"})(on_uninstalled)
    return app


def _ack(ack: Ack) -> None:
    """Answer Slack at once; the listener's lazy function does the work."""
    ack()


def _clicker(body: dict[str, Any]) -> Actor:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    return Actor(team=(body.get("team") or {}).get("id") or "", user=body["user"]["id"], channel=channel)


def _clicked_message(body: dict[str, Any]) -> str | None:
    """The ts of the message whose button was clicked."""
    return (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts") or None


def _respond(respond: Respond, message: Message) -> None:
    """A private answer to the person who acted (through the payload's response_url)."""
    try:
        respond(
            text=render.fallback_text(message),
            blocks=render.blocks(message),
            response_type="ephemeral",
            replace_original=False,
        )
    except Exception as error:  # the answer is a courtesy; the state change already happened
        log.warning("could not answer privately: %s", type(error).__name__)

"""Builds and runs `eco-bot shell`: the engine with the terminal as its chat, the database from the settings
(or a fresh embedded one for the demo), the boto3 verifier, and the scheduler that posts notices."""

from __future__ import annotations

import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

from bot.aws.verifier import AwsVerifier
from bot.engine.conversation import Engine, policy_from
from bot.engine.ports import SystemClock
from bot.scheduler import Scheduler
from bot.settings import Approvers, Settings
from bot.store import repository as repo
from bot.store.db import open_database, session_factory, upgrade
from bot.terminal.chat import TerminalChat
from bot.terminal.shell import TEAM, NoDirectory, Shell, prompt_lines

DEMO_REQUESTER = "UREQUESTER"
DEMO_APPROVER = "UAPPROVER"


def run_shell(settings: Settings, *, demo: bool, window: timedelta | None, user: str | None) -> int:
    interactive = sys.stdin.isatty()
    shell: Shell | None = None

    def redraw_prompt() -> None:
        # A notice printed by the scheduler's thread wipes the visible prompt: show it again, with what was typed.
        if interactive and shell is not None and threading.current_thread() is not threading.main_thread():
            sys.stdout.write(f"{shell.user}> {_typed_so_far()}")
            sys.stdout.flush()

    chat = TerminalChat(sys.stdout, on_print=redraw_prompt)
    demo_aws = None
    workdir = None
    database_url = settings.database_url
    approvers, template_url, principal = settings.approvers, settings.template_url, settings.trusted_principal_arn
    if demo:
        from bot.sandbox.demo import INTRO, DemoAws

        chat.say("Starting the demo's fake AWS…")
        demo_aws = DemoAws()
        demo_aws.start()
        workdir = tempfile.TemporaryDirectory(prefix="eco-demo-")
        database_url = f"sqlite:///{Path(workdir.name) / 'eco-demo.db'}"  # a fresh conversation every demo
        approvers, template_url, principal = Approvers.parse(DEMO_APPROVER), demo_aws.publish_template(), None
        window = window or timedelta(seconds=30)
        user = user or DEMO_REQUESTER
        chat.say(INTRO, "")
    database = open_database(database_url)
    upgrade(database)
    sessions = session_factory(database)
    engine = Engine(
        sessions=sessions,
        chat=chat,
        verifier=AwsVerifier(trusted_principal_arn=principal),
        directory=NoDirectory(),
        policy=policy_from(
            settings,
            processing_window=window or settings.processing_window,
            approvers=approvers,
            # The demo is for trying the bot: nobody and no channel is kept out of it.
            requesters=Approvers() if demo else settings.requesters,
            allowed_channels=frozenset() if demo else settings.allowed_channels,
            template_url=template_url,
        ),
        clock=SystemClock(),
    )

    def after_each() -> None:
        if demo_aws is None:
            return
        with sessions() as session:
            waiting = repo.list_connections(session, TEAM)
        for connection in waiting:
            role_arn = demo_aws.launch_stack_for(connection)
            if role_arn:
                chat.say(
                    "",
                    f"(demo) In account {role_arn.split(':')[4]}, the customer opened the link and the "
                    "stack reached CREATE_COMPLETE. Its RoleArn output, to paste here:",
                    f"    {role_arn}",
                )

    shell = Shell(engine, chat, user=user or DEMO_REQUESTER, after_each=after_each)
    # Notices come on time even while the prompt waits; the demo's short window wants a short tick.
    scheduler = Scheduler(engine, timedelta(seconds=1) if demo else settings.scheduler_interval)
    scheduler.start()
    try:
        lines = prompt_lines(shell) if interactive else sys.stdin
        return shell.run(lines, echo=not interactive)
    except KeyboardInterrupt:
        return 0
    finally:
        scheduler.stop()
        engine.close()
        database.dispose()
        if demo_aws:
            demo_aws.stop()
        if workdir:
            workdir.cleanup()


def _typed_so_far() -> str:
    try:
        import readline  # noqa: PLC0415  (absent on some platforms; only used for this courtesy)

        return readline.get_line_buffer()
    except ImportError:
        return ""

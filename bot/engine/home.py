"""The App Home tab: the workspace's connections, shown to whoever opens it and refreshed after each step for
recent viewers, on one background worker. Part of the `Engine` (a mixin: it uses the engine's sessions, chat,
clock and policy)."""

from __future__ import annotations

import logging

from bot.engine import script
from bot.engine.ports import Actor, ChatError
from bot.store import repository as repo

log = logging.getLogger(__name__)

# The newest connections the Home tab lists: one block each, well within Slack's 100 blocks per view.
HOME_CONNECTIONS = 40


class HomeTab:
    # --- the Home tab --------------------------------------------------------------------------

    def show_home(self, actor: Actor) -> None:
        """Someone opened the Home tab: remember that they look at it (so that steps refresh it), and show it."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            repo.record_home_viewer(session, team_id=actor.team, user_id=actor.user, now=now)
        self._publish_home(actor.team, [actor.user])

    def _refresh_home(self, team: str) -> None:
        """After a step: queue a refresh of the team's Home tab (see `_refresh_home_now`)."""
        with self._home_lock:
            if team in self._home_queued:
                return  # the queued refresh will read the database after this step: it shows it too
            self._home_queued.add(team)
        try:
            self._home_worker.submit(self._refresh_home_now, team)
        except RuntimeError:  # shutting down: Home is a view, the next visit shows the step
            with self._home_lock:
                self._home_queued.discard(team)

    def _refresh_home_now(self, team: str) -> None:
        """The Home tab again, for the team's recent viewers. Never raises: the step is saved already and Home
        is only a view of it, so a failure here (Slack or the database) is logged and dropped."""
        with self._home_lock:
            self._home_queued.discard(team)  # from here on, a new step queues a new refresh
        try:
            since = self.clock.now() - self.policy.home_audience
            with self.reads() as session:
                viewers = repo.home_viewers(session, team, since=since, limit=self.policy.home_refresh_limit)
            if viewers:
                self._publish_home(team, viewers)
        except Exception:
            log.exception("could not refresh the Home tab of team %s", team)

    def _publish_home(self, team: str, users: list[str]) -> None:
        now = self.clock.now()
        with self.reads() as session:
            connections = repo.list_connections(session, team, limit=HOME_CONNECTIONS)
            total = repo.count_connections(session, team) if len(connections) == HOME_CONNECTIONS else len(connections)
            message = script.home(connections, now, total=total)
        for user in users:  # one view for the workspace, published to each viewer
            try:
                self.chat.publish_home(team, user, message)
            except ChatError as error:
                log.warning("could not publish the Home tab of %s: %s", user, error.code)

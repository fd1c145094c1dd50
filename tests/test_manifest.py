"""Tests for manifest.yml, the Slack app manifest a workspace admin creates the app from.

They pin what the bot relies on (the /eco command, scopes, events, interactivity,
App Home, Socket Mode) so that an edit to the manifest cannot silently drop one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

MANIFEST_PATH = Path(__file__).resolve().parent.parent / "manifest.yml"

REQUIRED_BOT_SCOPES = {
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:history",
    "groups:history",
    "im:write",
    "im:history",
    "users:read",
    "usergroups:read",
}
REQUIRED_BOT_EVENTS = {
    "message.channels",
    "message.groups",
    "message.im",
    "app_home_opened",
    "app_uninstalled",
    "tokens_revoked",
}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))


def test_display_information(manifest):
    info = manifest["display_information"]
    assert info["name"] == "Eco Connect"
    # Slack's manifest limits: description <= 140 chars, long_description 175-4000.
    assert 0 < len(info["description"]) <= 140
    assert 175 <= len(info.get("long_description", "x" * 175)) <= 4000
    assert info["background_color"].startswith("#") and len(info["background_color"]) == 7


def test_bot_user_and_app_home(manifest):
    features = manifest["features"]
    assert features["bot_user"] == {"display_name": "eco", "always_online": True}
    assert features["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }


def test_eco_slash_command(manifest):
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/eco"
    assert command["description"]
    assert command["usage_hint"] == "connect [label] | status [id] | verify <id> | audit <id> | cancel <id> | help"
    assert command["should_escape"] is False
    # Socket Mode: no URL; the HTTP-mode URL is left as a comment for admins.
    assert "url" not in command


def test_bot_scopes(manifest):
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert set(scopes) == REQUIRED_BOT_SCOPES
    assert len(scopes) == len(set(scopes))


def test_bot_events(manifest):
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert set(events) == REQUIRED_BOT_EVENTS


def test_settings_socket_mode_and_interactivity(manifest):
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    # Socket Mode needs no request URLs; they stay commented out for HTTP mode.
    assert "request_url" not in settings["event_subscriptions"]
    assert "request_url" not in settings["interactivity"]


def test_http_mode_instructions_present():
    text = MANIFEST_PATH.read_text(encoding="utf-8")
    assert "socket_mode_enabled to false" in text
    assert text.count("# url: https://YOUR-HOST/slack/events") == 1
    assert text.count("# request_url: https://YOUR-HOST/slack/events") == 2

"""Test doubles for Slack: a fake Web API server and builders of signed Slack requests."""

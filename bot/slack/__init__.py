"""The Slack adapter: Bolt listeners, Block Kit rendering, the Web API chat port and HTTP serving."""

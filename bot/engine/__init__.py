"""The conversation engine: steps, validation, what the bot says, and the ports it talks through.

Nothing in this package knows Slack; adapters (bot.slack, and later a terminal) drive it.
"""

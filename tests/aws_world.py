"""Moved to `bot.sandbox.world` (the demo uses it too); kept so older imports keep working."""

from bot.sandbox.world import *  # noqa: F403
from bot.sandbox.world import BOT_PRINCIPAL, CUSTOMER_ACCOUNT, AwsWorld, CustomerAccount  # noqa: F401

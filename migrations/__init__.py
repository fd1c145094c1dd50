"""Alembic migrations for the bot's schema (packaged, so an installed `eco-bot` can apply them)."""

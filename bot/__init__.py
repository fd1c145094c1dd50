"""Eco Connect: a chat-ops bot that connects an AWS account to Eco and proves every step against AWS."""

__version__ = "0.1.0"

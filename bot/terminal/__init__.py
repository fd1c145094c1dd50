"""The terminal adapter: renders the engine's neutral messages as plain text for a console."""

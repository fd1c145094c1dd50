"""Persistence: the schema, the database engine and migrations, and the queries the engine needs."""

"""Alembic environment: runs on the connection that :mod:`anomalyzer.registry.migrate` passes in."""

from __future__ import annotations

from alembic import context

from anomalyzer.registry.tables import metadata


def run() -> None:
    """Apply the migrations on the connection handed over in the Alembic config."""
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


# Alembic sets up ``context.config`` before it runs this file; a plain import
# (documentation tools, test collection) finds none and runs nothing.
if hasattr(context, "config"):
    run()

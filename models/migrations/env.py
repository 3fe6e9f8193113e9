"""Alembic environment: always driven through models.database with a live connection."""

from __future__ import annotations

from alembic import context

import models
from models.database import include_name, is_sqlite

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `greenhood db upgrade`, which supplies a connection")

context.configure(
    connection=connection,
    target_metadata=models.Base.metadata,
    # SQLite cannot ALTER most things: batch mode rebuilds tables instead.
    render_as_batch=is_sqlite(str(connection.engine.url)),
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()

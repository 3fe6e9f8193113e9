"""/forget detaches a poster from their offers and a reporter from their reports (NULL)
instead of deleting them, so what others reserved or reported outlives the person.

Revision ID: 0010_forget
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_forget"
down_revision: str | None = "0009_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables whose rows reference offers.
OFFER_CHILDREN = ("offer_reservations", "offer_reports")


def _person_fk(table: str, column: str, *, nullable: bool, ondelete: str) -> None:
    """Change the nullability and ON DELETE of `table.column` -> users.id.

    SQLite rebuilds the table (batch mode) and, with foreign keys on, dropping the old
    `offers` deletes the rows of its children through their ON DELETE CASCADE; the pragma
    cannot be switched off inside the transaction the migrations run in, so the children's
    rows are kept aside in temporary tables and put back."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    children = OFFER_CHILDREN if sqlite and table == "offers" else ()
    for child in children:
        op.execute(f"CREATE TEMP TABLE keep_{child} AS SELECT * FROM {child}")
    name = f"fk_{table}_{column}_users"
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(name, type_="foreignkey")
        batch_op.alter_column(column, existing_type=sa.BigInteger(), nullable=nullable)
        batch_op.create_foreign_key(name, "users", [column], ["id"], ondelete=ondelete)
    for child in children:
        op.execute(f"DELETE FROM {child}")
        op.execute(f"INSERT INTO {child} SELECT * FROM keep_{child}")
        op.execute(f"DROP TABLE keep_{child}")


def upgrade() -> None:
    _person_fk("offers", "poster_id", nullable=True, ondelete="SET NULL")
    _person_fk("offer_reports", "reporter_id", nullable=True, ondelete="SET NULL")


def downgrade() -> None:
    # The old schema cannot hold detached rows: they go, as /forget used to delete them.
    op.execute("DELETE FROM offer_reports WHERE reporter_id IS NULL")
    orphans = "SELECT id FROM offers WHERE poster_id IS NULL"
    for child in OFFER_CHILDREN:
        op.execute(f"DELETE FROM {child} WHERE offer_id IN ({orphans})")
    op.execute("DELETE FROM offers WHERE poster_id IS NULL")
    _person_fk("offer_reports", "reporter_id", nullable=False, ondelete="CASCADE")
    _person_fk("offers", "poster_id", nullable=False, ondelete="CASCADE")

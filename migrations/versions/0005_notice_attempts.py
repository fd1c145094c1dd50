"""Durable notices across replicas: when a post was last attempted (so that a notice claimed again looks for
its earlier post before posting), and a partial index over the open notices only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 12:20:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OPEN = "state IN ('pending', 'claimed')"


def upgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index('ix_notices_state_due')
    op.create_index(
        'ix_notices_open_due', 'notices', ['due_at'], unique=False,
        postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index('ix_notices_open_due', table_name='notices')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index('ix_notices_state_due', ['state', 'due_at'], unique=False)
        batch_op.drop_column('attempted_at')

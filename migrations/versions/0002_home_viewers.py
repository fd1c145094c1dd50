"""Home viewers: who opened the App Home tab, so that it can be refreshed after each step.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:40:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('home_viewers',
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_home_viewers'))
    )
    with op.batch_alter_table('home_viewers', schema=None) as batch_op:
        batch_op.create_index('ix_home_viewers_team_opened', ['team_id', 'opened_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('home_viewers', schema=None) as batch_op:
        batch_op.drop_index('ix_home_viewers_team_opened')

    op.drop_table('home_viewers')

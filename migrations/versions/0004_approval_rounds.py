"""Approval rounds: several approvals per request, a reason for each rejection, and rounds so that a
resubmitted connection is approved afresh.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:55:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_round', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('step', sa.String(length=16), server_default='role', nullable=False))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.drop_constraint('uq_decisions_connection_id_user_id', type_='unique')
        batch_op.create_unique_constraint(op.f('uq_decisions_connection_id_round_user_id'), ['connection_id', 'round', 'user_id'])


def downgrade() -> None:
    # Back to one decision per user and connection: keep each user's latest.
    op.execute(
        "DELETE FROM decisions WHERE id NOT IN "
        "(SELECT latest FROM (SELECT MAX(id) AS latest FROM decisions GROUP BY connection_id, user_id) AS kept)"
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_decisions_connection_id_round_user_id'), type_='unique')
        batch_op.create_unique_constraint('uq_decisions_connection_id_user_id', ['connection_id', 'user_id'])
        batch_op.drop_column('reason')
        batch_op.drop_column('step')
        batch_op.drop_column('round')
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('approval_round')

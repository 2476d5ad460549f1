"""Audit events name the audit key whose HMAC their hash is.

The chain's hash was plain SHA-256, which anyone with the database can recompute after deleting or changing
events. From this revision each new event's hash is an HMAC-SHA256 under a key outside the database (AUDIT_KEYS),
and the event stores that key's id. Events written before keep key_id NULL and are verified as before, by SHA-256:
the first keyed event covers their head (app/audit/chain.py). Nothing is rewritten, so a database role that may only
INSERT and SELECT on audit_events keeps working.

Downgrading drops the column: the older code then cannot verify events written after this revision.

Revision ID: a7d2c4e9b813
Revises: a3c71e0b5d24
Create Date: 2026-12-07 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d2c4e9b813'
down_revision = 'a3c71e0b5d24'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('key_id')

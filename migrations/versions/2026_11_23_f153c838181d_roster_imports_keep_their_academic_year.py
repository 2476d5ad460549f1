"""Roster imports keep the academic year their classes are filed in.

A school imports next year's roster in July or August; the year was worked out from the date of each page
view, so the new classes landed in the old year and Apply could file them differently from the preview.
The year is now chosen at upload and stored. Earlier imports get the academic year of their upload day
(local date, the year turning on 1 September), which is the year they were previewed and applied in.

Revision ID: f153c838181d
Revises: 9c3d51e7a0b4
Create Date: 2026-11-23 01:30:00.000000

"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f153c838181d'
down_revision = '9c3d51e7a0b4'
branch_labels = None
depends_on = None

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # the schools' time zone (app.core.clock), fixed here as of this revision


def _academic_year(created_at):
    """'2026-2027' for an upload from September 2026 to August 2027 (local date)."""
    if isinstance(created_at, str):  # SQLite hands back the stored text
        created_at = datetime.fromisoformat(created_at)
    if created_at.tzinfo is None:  # stored as UTC without the offset
        created_at = created_at.replace(tzinfo=timezone.utc)
    day = created_at.astimezone(LOCAL_TZ).date()
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{start + 1}"


def upgrade():
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('academic_year', sa.String(length=9), nullable=True))

    roster_imports = sa.table('roster_imports', sa.column('id'), sa.column('created_at'),
                              sa.column('academic_year', sa.String(length=9)))
    conn = op.get_bind()
    years = [{"_id": row.id, "year": _academic_year(row.created_at)}
             for row in conn.execute(sa.select(roster_imports.c.id, roster_imports.c.created_at))]
    if years:
        conn.execute(roster_imports.update().where(roster_imports.c.id == sa.bindparam('_id'))
                     .values(academic_year=sa.bindparam('year')), years)

    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.alter_column('academic_year', existing_type=sa.String(length=9), nullable=False)


def downgrade():
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.drop_column('academic_year')

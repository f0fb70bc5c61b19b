"""Teams: a job's owner, named endpoint and wait record; the users and named endpoints tables.

Revision ID: 0005_teams
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_teams"
down_revision = "0004_job_summary"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    # A table made by create_all from the current models (no migrations yet) already has them.
    columns = {c["name"] for c in inspector.get_columns("evalscope_jobs")}
    if "owner" not in columns:
        op.add_column("evalscope_jobs", sa.Column("owner", sa.String(64), nullable=True))
        op.create_index("ix_evalscope_jobs_owner", "evalscope_jobs", ["owner"])
    if "endpoint" not in columns:
        op.add_column("evalscope_jobs", sa.Column("endpoint", sa.String(64), nullable=True))
    if "waits" not in columns:
        op.add_column("evalscope_jobs", sa.Column("waits", sa.JSON(), nullable=True))
    tables = set(inspector.get_table_names())
    if "evalscope_users" not in tables:
        op.create_table(
            "evalscope_users",
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("created_by", sa.String(64), nullable=True),
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        )
    if "evalscope_endpoints" not in tables:
        op.create_table(
            "evalscope_endpoints",
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("url", sa.Text(), nullable=False),
            sa.Column("api", sa.String(64), nullable=False),
            sa.Column("model", sa.String(512), nullable=False),
            sa.Column("api_key_encrypted", sa.Text(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("created_by", sa.String(64), nullable=True),
        )


def downgrade() -> None:
    op.drop_table("evalscope_endpoints")
    op.drop_table("evalscope_users")
    op.drop_index("ix_evalscope_jobs_owner", "evalscope_jobs")
    op.drop_column("evalscope_jobs", "waits")
    op.drop_column("evalscope_jobs", "endpoint")
    op.drop_column("evalscope_jobs", "owner")

"""Leases of jobs running on remote (Celery) workers: which worker, its heartbeat, the task id.

Revision ID: 0002_leases
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_leases"
down_revision = "0001_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evalscope_job_leases",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("task_id", sa.String(80), nullable=True),
        sa.Column("worker", sa.String(255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_evalscope_job_leases_heartbeat_at", "evalscope_job_leases", ["heartbeat_at"])


def downgrade() -> None:
    op.drop_table("evalscope_job_leases")

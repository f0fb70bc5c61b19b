"""Client task ids (EvalScope 1.14's ``EvalScope-Task-Id`` header) mapped to jobs.

Revision ID: 0003_task_ids
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_task_ids"
down_revision = "0002_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evalscope_task_ids",
        sa.Column("task_id", sa.String(128), primary_key=True),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("alias", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_evalscope_task_ids_job_id", "evalscope_task_ids", ["job_id"])


def downgrade() -> None:
    op.drop_table("evalscope_task_ids")

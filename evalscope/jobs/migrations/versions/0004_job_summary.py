"""A job's headline (evalscope.jobs.summary), stored when it reaches a final state.

Revision ID: 0004_job_summary
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_job_summary"
down_revision = "0003_task_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A table made by create_all from the current models (no migrations yet) already has it.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("evalscope_jobs")}
    if "summary" in columns:
        return
    op.add_column("evalscope_jobs", sa.Column("summary", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("evalscope_jobs", "summary")

"""The job table as first shipped (created by ``create_all`` before migrations existed).

Revision ID: 0001_jobs
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_jobs"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made before migrations existed already has the table: keep it and its rows.
    if sa.inspect(op.get_bind()).has_table("evalscope_jobs"):
        return
    op.create_table(
        "evalscope_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("output_dir", sa.Text(), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("has_secret", sa.Boolean(), nullable=False),
        sa.Column("worker_pid", sa.Integer(), nullable=True),
    )
    op.create_index("ix_evalscope_jobs_kind", "evalscope_jobs", ["kind"])
    op.create_index("ix_evalscope_jobs_state", "evalscope_jobs", ["state"])
    op.create_index("ix_evalscope_jobs_created_at", "evalscope_jobs", ["created_at"])


def downgrade() -> None:
    op.drop_table("evalscope_jobs")

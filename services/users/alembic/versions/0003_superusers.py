"""superusers: the is_superuser flag, and a partial index of the (few) superusers

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("is_superuser", sa.Boolean(), server_default="false", nullable=False))
    op.create_index("ix_users_superusers", "users", ["id"], unique=False, postgresql_where=sa.text("is_superuser"))


def downgrade() -> None:
    op.drop_index("ix_users_superusers", table_name="users", postgresql_where=sa.text("is_superuser"))
    op.drop_column("users", "is_superuser")

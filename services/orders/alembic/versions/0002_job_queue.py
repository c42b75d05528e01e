"""job queue (pgqueuer's tables, in the service's own database)

The jobs live next to the orders so that an order and its job commit in one transaction.
pgqueuer writes its schema as one multi-statement script (with function bodies), which only the
driver's simple-query protocol runs, so it goes to the asyncpg connection under Alembic's.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 15:10:00
"""

from collections.abc import Sequence

from alembic import op
from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment
from sqlalchemy.util import await_only

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run_script(script: str) -> None:
    driver_connection = op.get_bind().connection.driver_connection
    await_only(driver_connection.execute(script))


def upgrade() -> None:
    _run_script(QueryBuilderEnvironment().build_install_query(create_schema=False))


def downgrade() -> None:
    _run_script(QueryBuilderEnvironment().build_uninstall_query())

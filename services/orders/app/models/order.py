"""Orders, their items and their status history. Money is ``NUMERIC``, never a float."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, TimestampMixin


class OrderStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({OrderStatus.CONFIRMED, OrderStatus.REJECTED, OrderStatus.CANCELLED})
_STATUS_VALUES = ", ".join(f"'{status.value}'" for status in OrderStatus)
_FINAL_VALUES = ", ".join(f"'{status.value}'" for status in sorted(FINAL_STATUSES))

#: Largest unit price and order total the service accepts; the columns hold them exactly.
MAX_UNIT_PRICE = Decimal("1000000.00")
MAX_TOTAL = Decimal("100000000000.00")


class Order(TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_VALUES})", name="status_known"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        # One order per caller and idempotency key; a request without a key is never deduplicated.
        Index(
            "uq_orders_user_id_idempotency_key",
            "user_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        # The caller's orders, newest first.
        Index("ix_orders_user_id_created_at_id", "user_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default=OrderStatus.PENDING.value)
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    #: SHA-256 of the request's items, to tell a repeat from a different body under one key.
    request_fingerprint: Mapped[str] = mapped_column(String(64))


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity BETWEEN 1 AND 1000", name="quantity_in_range"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(9, 2))


class StatusChange(Base):
    """One entry of an order's status history; at most one final entry per order."""

    __tablename__ = "order_status_history"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_VALUES})", name="status_known"),
        # Processed once, enforced by the database: a second final status cannot be written.
        Index(
            "uq_order_status_history_final",
            "order_id",
            unique=True,
            postgresql_where=text(f"status IN ({_FINAL_VALUES})"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

"""Request and response bodies of the orders API. Money is ``Decimal`` end to end."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, StrictInt

from app.models.order import MAX_UNIT_PRICE, OrderStatus

MAX_ITEMS = 100
MAX_QUANTITY = 1000
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def _at_most_two_decimal_places(value: Decimal) -> Decimal:
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or (exponent < -2 and value != value.quantize(Decimal("0.01"))):  # noqa: PLR2004 - cents
        msg = "must have at most 2 decimal places"
        raise ValueError(msg)
    return value.quantize(Decimal("0.01"))


#: A decimal as a JSON string with two decimals, e.g. ``"19.98"``.
Money = Annotated[Decimal, PlainSerializer(lambda value: f"{value:.2f}", return_type=str, when_used="json")]

#: A unit price from a request: a JSON string such as ``"9.99"`` or a number; never a float inside.
UnitPrice = Annotated[
    Decimal,
    Field(gt=0, le=MAX_UNIT_PRICE, allow_inf_nan=False, examples=["9.99"]),
    AfterValidator(_at_most_two_decimal_places),
]
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$", examples=["BOOK-123"])]
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]


class OrderItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: Quantity
    unit_price: UnitPrice


class OrderCreate(BaseModel):
    """A new order. Any other field, a user id included, is refused: the caller is the owner."""

    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=MAX_ITEMS)]


class OrderItemOut(BaseModel):
    sku: str
    quantity: int
    unit_price: Money


class StatusEntry(BaseModel):
    status: OrderStatus
    at: datetime = Field(description="ISO 8601, UTC")
    reason: str | None = Field(description="Why the order was rejected; null for every other status")


class OrderOut(BaseModel):
    id: int
    user_id: int
    status: OrderStatus
    items: list[OrderItemOut]
    total: Money = Field(description="Computed by the service: a decimal string with two decimals")
    created_at: datetime
    updated_at: datetime
    status_history: list[StatusEntry] = Field(description="Every status the order has had, oldest first")


class OrderPage(BaseModel):
    items: list[OrderOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last page")

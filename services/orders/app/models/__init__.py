"""Every model of the service, imported so that ``Base.metadata`` knows every table."""

from app.models.order import Order, OrderItem, OrderStatus, StatusChange

__all__ = ["Order", "OrderItem", "OrderStatus", "StatusChange"]

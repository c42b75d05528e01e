"""servicekit's tests need no database: small apps over httpx's ASGI transport."""

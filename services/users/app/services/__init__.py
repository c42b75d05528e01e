"""Business rules. Services depend on repository ports, never on HTTP."""

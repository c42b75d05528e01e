"""Request and response schemas: the service's public HTTP contract."""

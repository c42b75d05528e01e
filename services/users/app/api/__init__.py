"""HTTP layer: thin routers, dependencies, and the one place errors become responses."""

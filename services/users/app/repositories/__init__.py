"""Data access. Repositories add, flush and query; the request boundary owns the commit."""

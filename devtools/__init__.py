"""Developer tooling shared by every service: the embedded PostgreSQL launcher."""

"""What every service of the repository needs alike, written once.

The app factory (:mod:`servicekit.application`), the base of domain exceptions
(:mod:`servicekit.exceptions`), the error body and its handlers (:mod:`servicekit.errors`), the
request-id and body-limit middleware (:mod:`servicekit.middleware`), settings shared by every
service (:mod:`servicekit.settings`), the engine, sessions, transaction scope and
transaction-free read side (:mod:`servicekit.database`) and the request's database dependencies
(:mod:`servicekit.dependencies`), what a database error means (:mod:`servicekit.db_errors`),
the Alembic environment (:mod:`servicekit.migrations`), health endpoints, readiness probes and
waits (:mod:`servicekit.health`, :mod:`servicekit.readiness`), test helpers and the tests'
pytest plugin (:mod:`servicekit.testing`), JSON logs and metrics (:mod:`servicekit.observability`,
:mod:`servicekit.metrics`), offline docs (:mod:`servicekit.docs`) and a graceful server
(:mod:`servicekit.server`).
"""

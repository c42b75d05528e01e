"""What every service of the repository needs alike, written once.

The error body and its handlers (:mod:`servicekit.errors`), the request-id and body-limit
middleware (:mod:`servicekit.middleware`), settings shared by every service
(:mod:`servicekit.settings`), the engine, the per-request session and the transaction-free read
side (:mod:`servicekit.database`), what a database error means (:mod:`servicekit.db_errors`),
readiness probes and waits (:mod:`servicekit.readiness`), test-database helpers
(:mod:`servicekit.testing`), JSON logs and metrics (:mod:`servicekit.observability`,
:mod:`servicekit.metrics`), offline docs (:mod:`servicekit.docs`) and a graceful server
(:mod:`servicekit.server`).
"""

"""Service chassis: the plumbing every akkoord service shares.

config (environment), db (SQLAlchemy provider, one schema per service),
migrations (Alembic per service), outbox (transactional events), inbox
(idempotent consumers), logs (structured JSON, secrets redacted), errors
(domain errors that cross RPC), secrets (hashing and random codes),
crypto (data at rest), rpc (principal and schema validation at RPC edges).
"""

from chassis import dutch_messages as _dutch_messages

_dutch_messages.install()  # before any schema of a service or the gateway is defined

"""Route groups of the gateway, one module per owning service.

Each module defines a mixin class of ``@route`` endpoints and registers the
remote error paths of its service with ``register_remote_errors``.
"""

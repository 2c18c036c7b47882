"""Routes served by the notify service."""
from gateway.errors import register_remote_errors

register_remote_errors({})


class NotifyRoutes:
    pass

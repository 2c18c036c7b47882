"""Routes served by the filing service."""
from gateway.errors import register_remote_errors

register_remote_errors({})


class FilingRoutes:
    pass

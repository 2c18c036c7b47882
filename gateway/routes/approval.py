"""Routes served by the approval service."""
from gateway.errors import register_remote_errors

register_remote_errors({})


class ApprovalRoutes:
    pass

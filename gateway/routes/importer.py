"""Routes served by the importer service."""
from gateway.errors import register_remote_errors

register_remote_errors({})


class ImportRoutes:
    pass

"""Routes served by the letters service."""
from gateway.errors import register_remote_errors

register_remote_errors({})


class LettersRoutes:
    pass

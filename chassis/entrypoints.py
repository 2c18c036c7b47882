"""Entrypoint decorators shared by the services.

``@rpc`` is nameko's rpc plus two things every service needs at its edge:
the worker's transaction is committed before the reply is sent (nameko replies
before ``worker_result``), and marshmallow validation errors become
``chassis.errors.Invalid`` with per-field messages, which travel over RPC.
"""
import functools

from marshmallow import ValidationError
from chassis.graceful import rpc as nameko_rpc  # nameko rpc that drains in-flight requests on stop

from chassis.db import WorkerSession
from chassis.errors import AkkoordError, Invalid


def _worker_sessions(service):
    return [value for value in vars(service).values() if isinstance(value, WorkerSession)]


def transactional(fn, read_only=False):
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        sessions = _worker_sessions(self)
        for handle in sessions:
            handle.read_only = read_only
        try:
            result = fn(self, *args, **kwargs)
        except ValidationError as exc:
            for handle in sessions:
                handle.rollback()
            raise Invalid("De invoer is ongeldig.", {"fields": exc.messages}) from None
        except BaseException:
            for handle in sessions:
                handle.rollback()
            raise
        for handle in sessions:
            handle.commit()
        return result

    return wrapper


def rpc(fn=None, read_only=False, **kwargs):
    """Like nameko's ``@rpc``; domain errors are expected (logged without a stack).

    ``read_only=True`` is for entrypoints that only read (listings on hot screens): their
    statements run without a transaction around them, so they must never write.
    """
    kwargs.setdefault("expected_exceptions", (AkkoordError,))
    if fn is None:
        return lambda f: nameko_rpc(**kwargs)(transactional(f, read_only))
    return nameko_rpc(**kwargs)(transactional(fn, read_only))

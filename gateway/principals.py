"""A short-lived cache of the principal behind a bearer token.

Resolving a token costs an RPC to identity on every request; a portal page makes several
requests in a burst, and programs poll. The gateway therefore keeps the answer for
``AKKOORD_PRINCIPAL_CACHE_SECONDS`` (default 5; 0 turns it off). Staleness is bounded twice:
identity broadcasts ``principals_changed`` (user ids) after committing anything that changes
what ``authenticate`` answers (logout, rights, branch, client links, deactivation), before the
reply of that change leaves, and every replica drops those users at once; if such a hint is
ever lost, the entry still expires within the TTL. Logout through this replica drops the token
immediately. Only a digest of the token is kept.
"""
import hashlib
import os
import time
from collections import OrderedDict

from nameko.extensions import DependencyProvider


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class PrincipalStore:
    """token digest → (expires at, principal); least recently stored evicted past ``size``."""

    def __init__(self, ttl: float, size: int, clock=time.monotonic):
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[bytes, tuple[float, dict]] = OrderedDict()
        # Bumped by every forget: an answer fetched before a change is not stored after it.
        self.generation = 0

    def get(self, token: str) -> dict | None:
        if self.ttl <= 0:
            return None
        key = _digest(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self.clock():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, token: str, principal: dict, generation: int | None = None) -> None:
        if self.ttl <= 0 or (generation is not None and generation != self.generation):
            return
        key = _digest(token)
        self._entries.pop(key, None)
        self._entries[key] = (self.clock() + self.ttl, principal)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget_token(self, token: str) -> None:
        self.generation += 1
        self._entries.pop(_digest(token), None)

    def forget_users(self, user_ids) -> int:
        self.generation += 1
        wanted = set(user_ids)
        stale = [key for key, (_, principal) in self._entries.items() if principal.get("user_id") in wanted]
        for key in stale:
            self._entries.pop(key, None)
        return len(stale)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    def __len__(self):
        return len(self._entries)


class PrincipalCache(DependencyProvider):
    """One store per gateway container, shared by its workers."""

    def setup(self):
        self.store = PrincipalStore(ttl=float(os.environ.get("AKKOORD_PRINCIPAL_CACHE_SECONDS", "5")),
                                    size=int(os.environ.get("AKKOORD_PRINCIPAL_CACHE_SIZE", "10000")))

    def get_dependency(self, worker_ctx):
        return self.store

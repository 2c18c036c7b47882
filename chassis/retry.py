"""When to try again: exponential backoff with jitter, for work retried by a timer (SMS and e-mail
sends, notifications, KvK filings)."""
import datetime as dt
import random


def backoff(attempts: int, base: float, cap: float) -> dt.timedelta:
    """base, 2 × base, 4 × base ... seconds after the 1st, 2nd, 3rd failed attempt, at most ``cap``,
    each ±20% so retries of many items do not arrive together."""
    seconds = min(cap, base * (2 ** min(attempts - 1, 40)))  # the exponent bounded: no huge ints
    return dt.timedelta(seconds=seconds * random.uniform(0.8, 1.2))

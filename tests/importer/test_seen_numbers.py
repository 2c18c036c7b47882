"""The filter of client numbers seen never forgets one, and rarely claims one it never saw."""
from importer.seen_numbers import SeenNumbers


def test_never_a_false_no_and_few_false_maybes():
    seen = SeenNumbers()
    numbers = [f"{i:07d}" for i in range(100_000)]
    seen.add(numbers)
    assert all(seen.may_hold(n) for n in numbers)
    others = [f"K-{i}" for i in range(100_000)]
    assert sum(seen.may_hold(n) for n in others) < 50  # expected about 0.0003% here


def test_a_small_filter_still_answers_truthfully():
    seen = SeenNumbers(bits=64)  # nearly full: "maybe" for almost anything, never "no" for a member
    seen.add(["000101", "Één", "x" * 50])
    assert seen.may_hold("000101") and seen.may_hold("Één") and seen.may_hold("x" * 50)

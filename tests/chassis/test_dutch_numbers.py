"""The shared eleven test and btw-id check give python-stdnum's answers (stdnum stays the authority)."""
import random

import pytest
from stdnum.nl import bsn as nl_bsn, btw as nl_btw

from chassis.dutch_numbers import elfproef, nl_vat_valid


@pytest.mark.parametrize("digits", ["111222333", "123456782", "000000000", "111222334", "99999999９", "100000071",
                                    "12345678", "1234567890", "12345678a", "٣٣٣٣٣٣٣٣٣", ""])
def test_elfproef_as_stdnum_says(digits):
    assert elfproef(digits) == nl_bsn.is_valid(digits)


def test_elfproef_on_random_numbers():
    rng = random.Random(11)
    numbers = [f"{rng.randrange(10 ** 9):09d}" for _ in range(50_000)]
    assert sum(elfproef(n) for n in numbers) > 3000  # about one in eleven passes
    assert [n for n in numbers if elfproef(n) != nl_bsn.is_valid(n)] == []


@pytest.mark.parametrize("vat", ["NL100000071B01", "NL100000071B00", "NL000099998B57", "NL000000000B01",
                                 "NL123456789B01", "NL10000007B01", "BE0403019261"])
def test_btw_id_as_stdnum_says(vat):
    assert nl_vat_valid(vat) == nl_btw.is_valid(vat)


@pytest.mark.parametrize("vat", ["NL１00000071B01", "nl100000071b01", "NL 100000071 B01"])
def test_only_the_compact_ascii_form_is_accepted(vat):
    # stdnum compacts these first; callers here compact and upper-case before asking, and never store
    # full-width digits
    assert nl_btw.is_valid(vat) and not nl_vat_valid(vat)


def test_btw_id_on_random_numbers():
    rng = random.Random(97)
    ids = [f"NL{rng.randrange(10 ** 9):09d}B{rng.randrange(100):02d}" for _ in range(50_000)]
    assert sum(nl_vat_valid(i) for i in ids) > 3000
    assert [i for i in ids if nl_vat_valid(i) != nl_btw.is_valid(i)] == []

"""Identity's per-field rules for upserts: the fast paths for the common Dutch forms give exactly the answers
of python-stdnum and phonenumbers, which stay the authority for everything else."""
import pytest
from stdnum.eu import vat as eu_vat
from stdnum.nl import bsn as nl_bsn

from identity.clients import normalise
from identity.mobiles import normalise_mobile


def outcome(check, value):
    try:
        return check(value)
    except ValueError as exc:
        return ("refused", str(exc))


MOBILES = ["+31612345678", "+31687654321", "+31661234567",  # 066: a pager number, not a mobile
           "+31201234567", "+3161234567", "+316123456789", "+31970123456", "+31 6 12345678", "0612345678",
           "+32470123456", "+31٦١٢٣٤٥٦٧٨"]


@pytest.mark.parametrize("mobile", MOBILES)
def test_mobile_as_phonenumbers_says(mobile):
    clean, errors = normalise({"mobile": mobile})
    expected = outcome(normalise_mobile, mobile)
    if isinstance(expected, tuple):
        assert errors == {"mobile": [expected[1]]}
    else:
        assert clean == {"mobile": expected} and errors == {}


VATS = ["NL100000071B01", "NL100000071B00", "NL000099998B57",  # valid by mod 97 only (a newer btw-id)
        "NL000000000B01", "NL123456789B01", "NL10000007B01", "BE0403019261", "NL１00000071B01"]


@pytest.mark.parametrize("vat", VATS)
def test_vat_as_stdnum_says(vat):
    clean, errors = normalise({"vat": vat})
    assert (errors == {}) == eu_vat.is_valid(vat)
    if not errors:
        assert clean["vat"] == vat


@pytest.mark.parametrize("digits", ["111222333", "123456782", "000000000", "111222334", "99999999９", "100000071"])
def test_elfproef_as_stdnum_says(digits):
    clean, errors = normalise({"bsn": digits})
    assert (errors == {}) == nl_bsn.is_valid(digits)

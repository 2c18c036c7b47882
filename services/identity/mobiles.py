"""Mobile numbers: normalised to E.164 (Dutch 06, +31 and 0031 forms), invalid ones refused."""
import phonenumbers
from phonenumbers import PhoneNumberType

MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def normalise_mobile(value) -> str | None:
    """E.164 for a valid mobile number, None for an empty value; raises ValueError otherwise."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, "NL")
    except phonenumbers.NumberParseException:
        raise ValueError("Geen geldig mobiel nummer.") from None
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise ValueError("Geen geldig mobiel nummer.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(mobile: str | None) -> str | None:
    """+31612345678 → +31******78, for messages about a number."""
    if not mobile:
        return None
    return mobile[:3] + "*" * max(0, len(mobile) - 5) + mobile[-2:]

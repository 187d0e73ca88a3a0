from __future__ import annotations

import phonenumbers


def e164(raw: str, region: str = "IN") -> str:
    """The number in E.164 (+919876543210), or "" when it is missing or not a valid number."""
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

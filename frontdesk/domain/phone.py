"""Phone numbers: stored as E.164, searched by digits.

Parsing and validation are `phonenumbers` (Google's libphonenumber); we only decide what to do with its answers.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers

_DIGITS = re.compile(r"\d")
# What a person may type when they mean a phone number: digits, spaces, dashes, dots, brackets, a leading plus.
PHONE_LIKE = re.compile(r"^\+?[\d\s\-().]{1,24}$")


@dataclass(frozen=True)
class ParsedPhone:
    e164: str
    region: str
    national: str  # national significant number, digits only (what the Eber API calls `phone`)


def digits_only(text: str) -> str:
    return "".join(_DIGITS.findall(text))


def looks_like_phone(text: str) -> bool:
    return bool(PHONE_LIKE.match(text.strip()))


# Parsing is libphonenumber's full pipeline (tens of microseconds), and the same text is parsed again and again: the
# search box classifies each query before searching it, Enter repeats the last type-ahead query, a sync pull meets
# the same numbers every run. The answer depends on nothing but the text and the region, both in the key, and
# ParsedPhone is immutable, so a cached answer is exactly what a fresh parse would return.
@functools.lru_cache(maxsize=4096)
def normalise(raw: str, default_region: str = "SG") -> ParsedPhone | None:
    """Return the E.164 form of a complete, valid number, or None.

    "9123 4567", "+65 9123-4567", "6591234567" and "0065 9123 4567" all give +6591234567 with region SG. A number
    typed without a country code but starting with the region's country code ("6591234567") is tried again with
    a plus, because receptionists copy numbers from WhatsApp that way.
    """
    text = (raw or "").strip()
    if not text or len(text) > 40:
        return None
    digits = digits_only(text)
    if not digits:  # no number at all: nothing for libphonenumber to read
        return None
    candidates = [text]
    if not text.startswith("+") and digits:
        # "0065 9123 4567" (international dialling prefix) and "6591234567" (country code without the plus).
        candidates.append("+" + (digits[2:] if digits.startswith("00") else digits))
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            region = phonenumbers.region_code_for_number(number) or default_region
            return ParsedPhone(
                e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                region=region,
                national=str(number.national_number),
            )
    return None


def display(e164: str | None) -> str:
    """Human form of a stored number: "+65 9123 4567"."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def masked(e164: str | None) -> str:
    """For logs: keep the country code and the last two digits only."""
    if not e164:
        return ""
    return e164[:3] + "*" * max(0, len(e164) - 5) + e164[-2:]


def reversed_digits(e164: str | None) -> str | None:
    """Digits reversed, so "ends with 4567" becomes an indexable prefix match on "7654"."""
    if not e164:
        return None
    return digits_only(e164)[::-1]


def national_prefix_for_region(region: str) -> str:
    """The trunk prefix dialled before a national number in `region` ("0" in the UK, "" in Singapore)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return (metadata.national_prefix or "") if metadata is not None else ""


def country_code_for_region(region: str) -> int | None:
    code = phonenumbers.country_code_for_region(region)
    return code or None

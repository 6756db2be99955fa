"""What a scanned code means: our signed member card, an Eber member code, a voucher, a phone number or a member ID.

Used for camera scans and for USB scanners (which type the code like a keyboard), so everything here takes plain
text and never raises on bad input: a code we cannot use becomes kind "unknown" or "forged" with a message the
receptionist can act on.

Member card tokens look like ``FDM1.M00012345.K5XQ7ZBD3UFGN2YA``:
``FDM1`` (format version), the member number, and the first 80 bits of HMAC-SHA256(key, "FDM1.<member_no>") in
Base32. Everything is upper-case letters, digits and dots, so the QR uses alphanumeric mode and stays a small,
easy-to-read version 2 code. 80 bits cannot be guessed at a counter; anyone who needs more can rotate keys
(``ScanCodeRules.previous_card_keys`` keeps old cards working meanwhile).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from frontdesk.domain.phone import looks_like_phone, normalise

CodeKind = Literal["member_card", "forged", "eber_member", "voucher", "phone", "member_no", "unknown"]

CARD_PREFIX = "FDM1"
_SIGNATURE_BYTES = 10  # 80 bits -> exactly 16 Base32 characters, no padding
_MEMBER_NO_FOR_CARD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_SIGNATURE_SHAPE = re.compile(r"^[A-Z2-7]{16}$")

# A scanned code longer than this is not something a receptionist should see interpreted (a vCard, a web page...).
MAX_CODE_LENGTH = 1024
NEWER_CARD = re.compile(r"^FDM\d+\.", re.IGNORECASE)  # a card format after FDM1

# Defaults below are GUESSES: Eber does not document what its member QR or redemption QR encode
# (see reference/eber-api.md, "QR code value ... Parameter name not found"). Sites configure their own patterns; a
# named group "value" picks the identifier out of the text, otherwise the whole text is the value.
DEFAULT_EBER_MEMBER_PATTERNS: tuple[str, ...] = (
    r"^EBER[:\-](?P<value>[A-Za-z0-9_\-]{4,64})$",
    r"^https?://(?:[\w-]+\.)*eber\.co(?:/\S*?)?[/?&](?:qr|member|members|user|u|code)[=/](?P<value>[A-Za-z0-9_\-]{4,64})/?$",
)
DEFAULT_VOUCHER_PATTERNS: tuple[str, ...] = (
    r"^(?:VOUCHER|VCH|REDEEM|RDM)[:\-](?P<value>[A-Za-z0-9\-]{4,32})$",
    r"^https?://(?:[\w-]+\.)*eber\.co/\S*?redeem\S*?[/?&](?:code|redeem_code)[=/](?P<value>[A-Za-z0-9\-]{4,32})/?$",
)
DEFAULT_MEMBER_NO_PATTERN = r"^M\d{6,10}$"


def _key_bytes(key: bytes | str) -> bytes:
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not data:
        raise ValueError("The member card key is empty; set one in the settings before printing cards.")
    return data


def _signature(member_no: str, key: bytes) -> str:
    digest = hmac.new(key, f"{CARD_PREFIX}.{member_no}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest[:_SIGNATURE_BYTES]).decode("ascii")


def sign_member_card(member_no: str, key: bytes | str) -> str:
    """The text to put in a member's QR card. Raises ValueError for a member number that cannot go on a card."""
    if not isinstance(member_no, str) or not _MEMBER_NO_FOR_CARD.match(member_no):
        raise ValueError(
            f"Member number {member_no!r} can't go on a card: use 1-40 letters, digits, '-' or '_' (no dots or spaces)."
        )
    return f"{CARD_PREFIX}.{member_no}.{_signature(member_no, _key_bytes(key))}"


@dataclass(frozen=True)
class CardCheck:
    member_no: str | None  # set only when the signature is good
    problem: str  # why the card was refused, "" when it is good


def check_member_card(text: str, keys: Sequence[bytes | str]) -> CardCheck:
    """Verify a member card token against the current key and any previous ones."""
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0].upper() != CARD_PREFIX:
        return CardCheck(None, "This is not a Front Desk member card.")
    _, member_no, signature = parts
    signature = signature.upper()
    if not _MEMBER_NO_FOR_CARD.match(member_no) or not _SIGNATURE_SHAPE.match(signature):
        return CardCheck(None, "This member card's code is damaged or has been altered. Ask for another ID.")
    usable_keys = [k for k in keys if k]
    if not usable_keys:
        return CardCheck(None, "Member cards can't be checked on this PC: no card key is set in the settings.")
    # A USB scanner typing with Caps Lock on flips the case of every letter; the signature covers the exact
    # member number, so try the flipped form too rather than calling an honest card forged.
    for candidate in dict.fromkeys((member_no, member_no.swapcase())):
        for key in usable_keys:
            if hmac.compare_digest(_signature(candidate, _key_bytes(key)), signature):
                return CardCheck(candidate, "")
    return CardCheck(None, "This member card failed its security check: it is forged or altered. Ask for another ID.")


def verify_member_card(token: str, key: bytes | str | Sequence[bytes | str]) -> str | None:
    """The member number of a genuine card, or None."""
    keys: Sequence[bytes | str] = [key] if isinstance(key, (bytes, str)) else key
    return check_member_card(token, keys).member_no


def _compile_all(label: str, patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for index, pattern in enumerate(patterns):
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as error:
            raise ValueError(f"Scan setting {label}[{index}] is not a valid pattern ({error}): {pattern!r}") from None
    return tuple(compiled)


@dataclass(frozen=True)
class ScanCodeRules:
    """How to read scanned text at this site. Invalid patterns raise ValueError naming the setting."""

    card_key: bytes | str | None = None
    previous_card_keys: tuple[bytes | str, ...] = ()
    eber_member_patterns: tuple[str, ...] = DEFAULT_EBER_MEMBER_PATTERNS
    voucher_patterns: tuple[str, ...] = DEFAULT_VOUCHER_PATTERNS
    member_no_pattern: str = DEFAULT_MEMBER_NO_PATTERN
    phone_region: str = "SG"
    _eber: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _voucher: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _member_no: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_eber", _compile_all("eber_member_patterns", self.eber_member_patterns))
        object.__setattr__(self, "_voucher", _compile_all("voucher_patterns", self.voucher_patterns))
        object.__setattr__(self, "_member_no", _compile_all("member_no_pattern", [self.member_no_pattern]))

    @property
    def card_keys(self) -> tuple[bytes | str, ...]:
        current = (self.card_key,) if self.card_key else ()
        return current + tuple(k for k in self.previous_card_keys if k)


@dataclass(frozen=True)
class ScannedCode:
    kind: CodeKind
    value: str  # the identifier to act on: member number, Eber code, voucher code, E.164 phone; "" when unusable
    text: str  # what was scanned, with surrounding whitespace removed
    message: str  # one line for the receptionist

    @property
    def usable(self) -> bool:
        return self.kind not in ("forged", "unknown")


def shown(text: str, limit: int = 40) -> str:
    """A scanned text made safe and short enough to show in a message."""
    visible = "".join(ch if unicodedata.category(ch)[0] != "C" else "?" for ch in text)
    return visible if len(visible) <= limit else visible[: limit - 1] + "…"


def _first_match(patterns: Sequence[re.Pattern[str]], text: str) -> str | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            value = match.groupdict().get("value")
            return value if value else match.group(0)
    return None


def _site_code(text: str, rules: ScanCodeRules) -> ScannedCode | None:
    """A voucher or an Eber member code by the site's patterns (vouchers first), or None."""
    voucher = _first_match(rules._voucher, text)
    if voucher is not None:
        return ScannedCode("voucher", voucher, text, f"Voucher {voucher}")
    eber = _first_match(rules._eber, text)
    if eber is not None:
        return ScannedCode("eber_member", eber, text, f"Eber member code {shown(eber)}")
    return None


def _unknown(text: str, message: str) -> ScannedCode:
    return ScannedCode("unknown", "", text, message)


def interpret(text: str, rules: ScanCodeRules, *, check_phones: bool = True) -> ScannedCode:
    """Classify scanned text. Never raises; anything unusable is kind "unknown" or "forged" with a message.

    `check_phones=False` leaves phone-like text unparsed (kind "phone", the text as typed): for callers that hand
    phones to the member search anyway and need not pay libphonenumber's parse to tell a valid one from an invalid.
    """
    if not isinstance(text, str):
        return _unknown("", "The scanner sent something that isn't text.")
    # Keyboard-wedge scanners end with Enter/Tab; some camera decoders keep a trailing newline.
    text = text.strip()
    if not text:
        return _unknown(text, "The code was empty.")
    if not check_phones and looks_like_phone(text):
        # The search box's hot path: digits and phone punctuation can only be a site's voucher or Eber pattern or
        # a phone (cards and member IDs need letters); the checks below could find nothing else in such text.
        return _site_code(text, rules) or ScannedCode("phone", text, text, f"Phone {text} (not checked)")
    if len(text) > MAX_CODE_LENGTH:
        return _unknown(text[:MAX_CODE_LENGTH], f"This code is too long ({len(text)} characters) to be a member card, "
                        "member ID, phone number or voucher.")
    # Printable ASCII (nearly every scan and typed query) holds none of these: checked without a per-character loop.
    if not (text.isascii() and text.isprintable()) and (
            "\ufffd" in text or any(unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") for ch in text)):
        return _unknown(text, "This code holds unreadable (binary) data, not a member card, phone number or voucher.")

    if text[:5].upper() == CARD_PREFIX + ".":
        check = check_member_card(text, rules.card_keys)
        if check.member_no is not None:
            return ScannedCode("member_card", check.member_no, text, f"Member card {check.member_no}")
        if not rules.card_keys:
            return _unknown(text, check.problem)
        return ScannedCode("forged", "", text, check.problem)
    if NEWER_CARD.match(text):
        return _unknown(text, "This member card was made by a newer version of Front Desk; update this PC to read it.")

    site_code = _site_code(text, rules)
    if site_code is not None:
        return site_code
    member_no = _first_match(rules._member_no, text)
    if member_no is not None:
        return ScannedCode("member_no", member_no, text, f"Member ID {member_no}")

    phone_text = text[4:] if text[:4].lower() == "tel:" else text
    if looks_like_phone(phone_text):
        if not check_phones:  # "tel:" and a number
            return ScannedCode("phone", phone_text, text, f"Phone {phone_text} (not checked)")
        parsed = normalise(phone_text, rules.phone_region)
        if parsed is not None:
            return ScannedCode("phone", parsed.e164, text, f"Phone {parsed.e164}")
        return _unknown(text, f"{shown(phone_text)} looks like a phone number but isn't a valid one.")
    return _unknown(text, f"“{shown(text)}” isn't a member card, member ID, phone number or voucher this desk knows.")


class RepeatFilter:
    """Pass a code once, then ignore it while it keeps being seen within `window_seconds`.

    The window restarts at every sighting, so a phone held in front of the camera for a minute opens the member once;
    the same code shown again after a pause of `window_seconds` counts as a new scan. A different code always passes.
    """

    def __init__(self, window_seconds: float = 3.0, clock: Callable[[], float] = time.monotonic) -> None:
        if window_seconds < 0:
            raise ValueError("window_seconds must not be negative")
        self.window_seconds = window_seconds
        self._clock = clock
        self._last_seen: dict[str, float] = {}

    def accept(self, text: str) -> bool:
        now = self._clock()
        self._last_seen = {code: seen for code, seen in self._last_seen.items() if now - seen < self.window_seconds}
        is_new = text not in self._last_seen
        self._last_seen[text] = now
        return is_new

    def reset(self) -> None:
        self._last_seen.clear()

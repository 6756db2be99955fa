"""What scanned text means: member cards (and forgeries), Eber codes, vouchers, phones, member IDs, garbage."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.scan.codes import (
    MAX_CODE_LENGTH,
    RepeatFilter,
    ScanCodeRules,
    check_member_card,
    interpret,
    sign_member_card,
    verify_member_card,
)

KEY = b"salon-secret"
RULES = ScanCodeRules(card_key=KEY)


def test_genuine_member_card() -> None:
    token = sign_member_card("M1000042", KEY)
    assert token.startswith("FDM1.M1000042.") and len(token.split(".")[2]) == 16
    assert verify_member_card(token, KEY) == "M1000042"
    code = interpret(token + "\r\n", RULES)  # keyboard-wedge scanners end with Enter
    assert (code.kind, code.value, code.usable) == ("member_card", "M1000042", True)
    assert code.message == "Member card M1000042"


def test_card_token_is_qr_alphanumeric() -> None:
    """Upper-case, digits and dots only: the QR stays in alphanumeric mode, a small symbol."""
    token = sign_member_card("M1000042", KEY)
    assert set(token) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


@pytest.mark.parametrize("tamper", [
    lambda t: t.replace("M1000042", "M1000043"),  # someone else's number, old signature
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one signature character changed
    lambda t: t.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAA",  # made-up signature
])
def test_altered_cards_are_forged(tamper) -> None:  # type: ignore[no-untyped-def]
    code = interpret(tamper(sign_member_card("M1000042", KEY)), RULES)
    assert code.kind == "forged" and not code.usable and code.value == ""
    assert "forged or altered" in code.message


def test_card_signed_with_another_key_is_forged() -> None:
    code = interpret(sign_member_card("M1000042", b"another-salon"), RULES)
    assert code.kind == "forged"


@pytest.mark.parametrize("text", ["FDM1.M1000042", "FDM1..ABCDEFGHIJKLMNOP", "FDM1.M1000042.short",
                                  "FDM1.M10 00042.AAAAAAAAAAAAAAAA", "FDM1.a.b.c"])
def test_damaged_cards_are_refused_with_a_reason(text: str) -> None:
    code = interpret(text, RULES)
    assert code.kind == "forged"
    assert "damaged or has been altered" in code.message or "not a Front Desk member card" in code.message


def test_caps_lock_on_a_usb_scanner_still_reads_the_card() -> None:
    token = sign_member_card("m1000042x", KEY)
    assert interpret(token.swapcase(), RULES).kind == "member_card"
    assert interpret(token.swapcase(), RULES).value == "m1000042x"


def test_previous_key_keeps_old_cards_working() -> None:
    old = sign_member_card("M1000042", b"old-key")
    rules = ScanCodeRules(card_key=b"new-key", previous_card_keys=(b"old-key",))
    assert interpret(old, rules).kind == "member_card"
    assert check_member_card(old, [b"new-key"]).member_no is None


def test_card_without_a_configured_key_is_not_called_forged() -> None:
    code = interpret(sign_member_card("M1000042", KEY), ScanCodeRules(card_key=None))
    assert code.kind == "unknown" and "no card key" in code.message


def test_newer_card_format_asks_for_an_update() -> None:
    assert "newer version" in interpret("FDM2.M1.ABC", RULES).message


@pytest.mark.parametrize("member_no", ["", "M1.2", "has space", "x" * 41, "Ünïcode"])
def test_sign_refuses_member_numbers_that_cannot_go_on_a_card(member_no: str) -> None:
    with pytest.raises(ValueError, match="can't go on a card"):
        sign_member_card(member_no, KEY)


def test_sign_refuses_an_empty_key() -> None:
    with pytest.raises(ValueError, match="key is empty"):
        sign_member_card("M1", b"")


@pytest.mark.parametrize(("text", "value"), [
    ("EBER:u7Hd92kLq", "u7Hd92kLq"),
    ("eber-ABCD1234", "ABCD1234"),
    ("https://app.eber.co/member/qr/04073C9D17a3", "04073C9D17a3"),
    ("https://salon.eber.co/u/abc-123_x", "abc-123_x"),
])
def test_eber_member_codes(text: str, value: str) -> None:
    code = interpret(text, RULES)
    assert (code.kind, code.value) == ("eber_member", value)


@pytest.mark.parametrize(("text", "value"), [
    ("RDM-8F3K2P", "8F3K2P"),
    ("VOUCHER:SPA-2024-XY", "SPA-2024-XY"),
    ("https://app.eber.co/redeem?code=ABC123", "ABC123"),
])
def test_vouchers(text: str, value: str) -> None:
    code = interpret(text, RULES)
    assert (code.kind, code.value) == ("voucher", value)
    assert code.message == f"Voucher {value}"


def test_member_numbers_and_custom_patterns() -> None:
    assert interpret("M1000042", RULES).kind == "member_no"
    assert interpret("M12", RULES).kind == "unknown"
    rules = ScanCodeRules(member_no_pattern=r"^SAL-(?P<value>\d{4})$", voucher_patterns=(r"^GIFT(?P<value>\d+)$",),
                          eber_member_patterns=())
    assert (interpret("SAL-0042", rules).kind, interpret("SAL-0042", rules).value) == ("member_no", "0042")
    assert interpret("GIFT99", rules).value == "99"
    assert interpret("EBER:u7Hd92kLq", rules).kind == "unknown"


def test_invalid_pattern_names_the_setting() -> None:
    with pytest.raises(ValueError, match=r"voucher_patterns\[1\]"):
        ScanCodeRules(voucher_patterns=("^ok$", "([unclosed"))


@pytest.mark.parametrize(("text", "e164"), [
    ("+65 9123 4567", "+6591234567"),
    ("91234567", "+6591234567"),
    ("tel:+6591234567", "+6591234567"),
])
def test_phone_numbers(text: str, e164: str) -> None:
    code = interpret(text, RULES)
    assert (code.kind, code.value) == ("phone", e164)


def test_phone_region_comes_from_the_rules() -> None:
    assert interpret("0412 345 678", ScanCodeRules(phone_region="AU")).value == "+61412345678"


def test_invalid_phone_gets_its_own_message() -> None:
    code = interpret("12345", RULES)
    assert code.kind == "unknown" and "isn't a valid one" in code.message


@pytest.mark.parametrize("text", [
    "", "   \r\n", "hello world", "https://example.com/menu", "WIFI:S:salon;T:WPA;P:secret;;",
    "\x00\x01\x02binary", "abc\ufffddef", "x" * (MAX_CODE_LENGTH + 1), "😀" * 10,
])
def test_anything_else_is_unknown_with_a_message(text: str) -> None:
    code = interpret(text, RULES)
    assert code.kind == "unknown" and code.message and not code.usable
    assert len(code.message) < 200  # huge input is never echoed back in full


def test_non_text_input_does_not_crash() -> None:
    assert interpret(None, RULES).kind == "unknown"  # type: ignore[arg-type]
    assert interpret(b"FDM1.M1.X", RULES).kind == "unknown"  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_interpret_never_raises(text: str) -> None:
    code = interpret(text, RULES)
    assert code.kind in {"member_card", "forged", "eber_member", "voucher", "phone", "member_no", "unknown"}
    assert isinstance(code.message, str) and code.message


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}", fullmatch=True), st.binary(min_size=1, max_size=64))
def test_sign_and_verify_round_trip(member_no: str, key: bytes) -> None:
    assert verify_member_card(sign_member_card(member_no, key), key) == member_no


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_repeat_filter_ignores_a_code_while_it_stays_in_view() -> None:
    clock = FakeClock()
    seen = RepeatFilter(window_seconds=3, clock=clock)
    assert seen.accept("A")
    for _ in range(10):  # held up to the camera for 10 s, seen every second
        clock.now += 1
        assert not seen.accept("A")
    clock.now += 3.1  # taken away for longer than the window, then shown again
    assert seen.accept("A")


def test_repeat_filter_passes_a_different_code_at_once() -> None:
    clock = FakeClock()
    seen = RepeatFilter(window_seconds=3, clock=clock)
    assert seen.accept("A") and seen.accept("B")
    clock.now += 0.5
    assert not seen.accept("A") and not seen.accept("B")
    seen.reset()
    assert seen.accept("A")


def test_repeat_filter_rejects_negative_windows() -> None:
    with pytest.raises(ValueError):
        RepeatFilter(window_seconds=-1)


def test_phones_left_unchecked_when_the_caller_searches_them_anyway() -> None:
    rules = ScanCodeRules(phone_region="SG")
    assert interpret("+65 9123 4567", rules).value == "+6591234567"
    unchecked = interpret("+65 9123 4567", rules, check_phones=False)
    assert (unchecked.kind, unchecked.value) == ("phone", "+65 9123 4567")


def test_a_site_voucher_pattern_of_digits_only_still_wins_over_the_unchecked_phone() -> None:
    rules = ScanCodeRules(phone_region="SG", voucher_patterns=(r"^77(?P<value>\d{8})$",))
    for check_phones in (True, False):
        code = interpret("7712345678", rules, check_phones=check_phones)
        assert (code.kind, code.value) == ("voucher", "12345678")

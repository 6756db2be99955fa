"""A signed member card needs this business's card key; a bare member number, typed or scanned, only ever goes
through the ordinary search (never treated as a card)."""
from __future__ import annotations

from frontdesk.config import DEMO_CARD_KEY, Settings
from frontdesk.members.lookup import LookupService, scan_code_resolver
from frontdesk.scan.codes import ScanCodeRules, interpret, sign_member_card
from frontdesk.store import make_read_engine

SHOP_KEY = "K5XQ7ZBD3UFGN2YAQ4LM"


def _lookup(db, key: str) -> LookupService:  # type: ignore[no-untyped-def]
    return LookupService(make_read_engine(db), code_resolver=scan_code_resolver(key))


def test_a_real_counter_has_no_card_key_until_setup_makes_one():
    assert Settings().member_card_key == ""
    assert DEMO_CARD_KEY != "" and Settings(demo=True).member_card_key == ""  # the demo start-up sets it


def test_a_card_is_refused_without_the_key_and_opens_with_it(demo_db):
    token = sign_member_card("M1000000", SHOP_KEY)
    without = _lookup(demo_db, "")
    result = without.search(token)
    assert result.kind == "forged" and not result.hits and "no card key is set" in (result.hint or "")
    wrong = _lookup(demo_db, DEMO_CARD_KEY).search(token)
    assert wrong.kind == "forged" and "forged or altered" in (wrong.hint or "")
    right = _lookup(demo_db, SHOP_KEY).search(token)
    assert right.kind == "code" and [h.member_no for h in right.hits] == ["M1000000"]
    for service in (without,):
        service.close()


def test_a_bare_member_number_goes_through_the_ordinary_search(demo_db):
    lookup = _lookup(demo_db, SHOP_KEY)
    result = lookup.search("M1000000")
    assert result.kind != "code" and [h.match for h in result.hits][:1] == ["member_no"]
    scanned = interpret("M1000000", ScanCodeRules(card_key=SHOP_KEY))
    assert scanned.kind == "member_no"  # a camera scan of it: the same search, labelled "Member ID", not a card
    assert scanned.message == "Member ID M1000000"
    lookup.close()

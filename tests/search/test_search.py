"""The one search box: every kind of query, ranking, shared phones and hostile input."""
from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.search import SearchService
from frontdesk.store import make_engine, session_factory
from frontdesk.store.db import upgrade_database
from frontdesk.store.members import MemberFields, add_member


@pytest.fixture
def service(tmp_path):
    db = tmp_path / "s.sqlite"
    upgrade_database(db)
    engine = make_engine(db)
    people = [
        MemberFields(first_name="Mei Ling", last_name="Tan", phone_raw="9123 4567", email="MeiLing.Tan@Gmail.com",
                     member_no="M0001"),
        MemberFields(first_name="Wei Jie", last_name="Tan", phone_raw="+65 9123 4567", member_no="M0002"),  # child
        MemberFields(first_name="Zoë", last_name="Ng", phone_raw="8765 1111", email="zoe@example.com",
                     member_no="VIP-77"),
        MemberFields(first_name="Priya", last_name="Nair", phone_raw="9876 4567", member_no="M0004"),
        MemberFields(first_name="Ahmad", last_name="bin Ismail", phone_raw="9555 0000", member_no="M0005"),
    ]
    with session_factory(engine)() as session, session.begin():
        for i, person in enumerate(people):
            add_member(session, person, "SG", codes=[(f"EBQR{i:04d}", "eber")])
    svc = SearchService(engine, region="SG")
    yield svc
    svc.close()
    engine.dispose()


def names(result):
    return [h.name for h in result.hits]


@pytest.mark.parametrize("query", ["9123 4567", "+65 9123-4567", "6591234567", "91234567"])
def test_a_phone_in_any_form_finds_everyone_on_it(service, query):
    result = service.search(query)
    assert result.kind == "phone"
    assert sorted(names(result)[:2]) == ["Mei Ling Tan", "Wei Jie Tan"]
    assert result.unique is None, "a shared phone must never pick one member silently"


def test_last_four_digits(service):
    result = service.search("4567")
    assert result.kind == "phone_digits"
    assert set(names(result)) == {"Mei Ling Tan", "Wei Jie Tan", "Priya Nair"}
    assert names(service.search("0000")) == ["Ahmad bin Ismail"]
    assert service.search("0000").unique.name == "Ahmad bin Ismail"


def test_email_any_case_and_while_typing(service):
    assert names(service.search("MEILING.TAN@gmail.com")) == ["Mei Ling Tan"]
    assert service.search("meiling.tan@gmail.com").hits[0].match == "email"
    typing = service.search("zoe@exa")
    assert names(typing) == ["Zoë Ng"] and typing.hits[0].match == "email_prefix"
    assert service.search("nobody@").hint


def test_member_id_and_qr_token(service):
    assert names(service.search("vip-77")) == ["Zoë Ng"]
    assert service.search("m0004").hits[0].match == "member_no"
    scanned = service.search("EBQR0003")
    assert scanned.kind == "code" and scanned.unique.name == "Priya Nair"


def test_names_prefix_any_order_case_and_accents(service):
    assert names(service.search("mei tan")) == ["Mei Ling Tan"]
    assert names(service.search("TAN MEI")) == ["Mei Ling Tan"]
    assert names(service.search("zoe")) == ["Zoë Ng"]
    assert names(service.search("ZOË")) == ["Zoë Ng"]
    assert set(names(service.search("ta"))) == {"Mei Ling Tan", "Wei Jie Tan"}
    assert names(service.search("ahmad ism")) == ["Ahmad bin Ismail"]


def test_exact_identifier_hits_rank_before_partial_ones(service, tmp_path):
    # "M0002" is Wei Jie's member ID exactly; nobody's name starts with it, so it must be first and unique.
    result = service.search("M0002")
    assert result.hits[0].name == "Wei Jie Tan" and result.unique is not None


def test_code_resolver_turns_a_card_token_into_a_member(tmp_path):
    db = tmp_path / "r.sqlite"
    upgrade_database(db)
    engine = make_engine(db)
    with session_factory(engine)() as session, session.begin():
        add_member(session, MemberFields(first_name="Card", last_name="Holder", member_no="M7777"), "SG")
    svc = SearchService(engine, code_resolver=lambda t: ("member_no", t.split(".")[1]) if t.startswith("FDM1.") else None)
    result = svc.search("FDM1.M7777.SIG")
    assert result.kind == "code" and result.unique.name == "Card Holder"
    svc.close()


@pytest.mark.parametrize("query,hint", [
    ("", None), ("   ", None), ("12", "4 digits"), ("😀🎉", "Type a name"), ("x" * 10_000, "too long"),
    ("foo@", "email"),
])
def test_bad_input_gives_no_hit_and_a_clear_hint(service, query, hint):
    result = service.search(query)
    assert result.hits == []
    if hint:
        assert hint in (result.hint or "")


@pytest.mark.parametrize("query", ["'; DROP TABLE members;--", 'tan" OR 1=1 --', "tan*", "NEAR(tan mei)", "%", "_",
                                   "a[b", "\x00\x01\x02", "tan AND", "*", "-tan", "^tan", "a:b", "ＭＥＩ"])
def test_sql_and_fts_metacharacters_are_just_text(service, query):
    service.search(query)  # must not raise
    assert service.search("mei tan").hits  # and the table is still there


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.text(max_size=300))
def test_any_text_at_all_never_raises(service, text):
    result = service.search(text)
    assert isinstance(result.hits, list)


def test_search_cli_prints_one_json_line_per_query(tmp_path, capsys):
    import json

    from frontdesk.app.cli import main

    db = tmp_path / "cli.sqlite"
    assert main(["demo-data", "--members", "50", "--db", str(db), "--seed", "5"]) == 0
    conn = sqlite3.connect(db)
    phone, member_no = conn.execute("SELECT phone_e164, member_no FROM members WHERE id = 3").fetchone()
    conn.close()
    capsys.readouterr()
    assert main(["search", phone, member_no, "zz-nobody", "--db", str(db), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["query"] for line in lines] == [phone, member_no, "zz-nobody"]
    assert lines[0]["kind"] == "phone" and lines[0]["results"][0]["phone"] == phone
    assert set(lines[0]["results"][0]) >= {"id", "name", "phone", "email", "member_no", "tier", "points"}
    assert lines[1]["results"][0]["member_no"] == member_no
    assert lines[2]["results"] == []


def test_demo_data_is_deterministic_by_seed(tmp_path):
    from frontdesk.demo.generator import generate_members

    assert list(generate_members(30, seed=11)) == list(generate_members(30, seed=11))
    assert list(generate_members(30, seed=11)) != list(generate_members(30, seed=12))


def test_scanned_member_cards_open_the_member_and_forged_ones_are_refused(tmp_path):
    from frontdesk.members.lookup import scan_code_resolver
    from frontdesk.scan.codes import sign_member_card

    db = tmp_path / "cards.sqlite"
    upgrade_database(db)
    engine = make_engine(db)
    with session_factory(engine)() as session, session.begin():
        add_member(session, MemberFields(first_name="Card", last_name="Holder", member_no="M1234567"), "SG")
    svc = SearchService(engine, code_resolver=scan_code_resolver("shop-secret"))
    good = sign_member_card("M1234567", "shop-secret")
    assert svc.search(good).unique.name == "Card Holder"
    forged = sign_member_card("M1234567", "someone-elses-key")
    refused = svc.search(forged)
    assert refused.hits == [] and refused.kind == "forged" and refused.hint
    voucher = svc.search("VOUCHER:ABCD1234")
    assert voucher.kind == "voucher" and "ABCD1234" in voucher.hint
    svc.close()


def test_short_and_long_digit_codes_and_member_ids_are_exact_hits(tmp_path):
    """Digits too few for a phone skip the phone forms, but a digit-only member ID or code still opens its member;
    and each typed phone form ("+65…", "0065…", national) finds the number through one statement."""
    db = tmp_path / "digits.sqlite"
    upgrade_database(db)
    engine = make_engine(db)
    with session_factory(engine)() as session, session.begin():
        add_member(session, MemberFields(first_name="Short", last_name="Id", phone_raw="9123 4567", member_no="4242"),
                   "SG", codes=[("778899", "eber")])
        add_member(session, MemberFields(first_name="Long", last_name="Code", phone_raw="8123 0000"), "SG",
                   codes=[("123456789012", "eber")])
    svc = SearchService(engine, region="SG")
    try:
        by_id = svc.search("4242")
        assert by_id.kind == "member_no" and by_id.unique.name == "Short Id"
        by_code = svc.search("778899")
        assert by_code.kind == "code" and by_code.unique.name == "Short Id"
        long_code = svc.search("123456789012")
        assert long_code.kind == "code" and long_code.unique.name == "Long Code"
        for typed in ("+65 9123 4567", "0065 9123 4567", "9123 4567", "6591234567"):
            found = svc.search(typed)
            assert found.kind == "phone" and found.unique.name == "Short Id", typed
            assert found.hits[0].match == "phone" and found.hits[0].member_no == "4242"
    finally:
        svc.close()
        engine.dispose()


_PHONE_LIKE_TEXT = st.text(alphabet="0123456789 -().+\t", min_size=1, max_size=24)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(_PHONE_LIKE_TEXT, st.sampled_from(
    ["+65 9123 4567", "91234567", "9123", "0065 9123 4567", "6591234567", " 9123-4567 ", "(+65) 9123 4567",
     "+1 (212) 555-0100", "12", "+", "--", "٩١٢٣٤٥٦٧", "9123\x1c4567"])))
def test_the_counters_resolver_answers_phone_like_text_as_interpret_would_without_parsing_it(text):
    """The search box's code resolver skips libphonenumber for phone-like text; its answer must be the one the
    scanner's interpret() leads to: nothing for a phone, a member ID or an unreadable text (the search handles them)."""
    from frontdesk.domain import phone as phones
    from frontdesk.members.lookup import scan_code_resolver
    from frontdesk.scan.codes import ScanCodeRules, interpret

    resolve = scan_code_resolver("shop-secret")
    if not phones.looks_like_phone(text):
        return
    calls = phones.normalise.cache_info()
    assert resolve(text) is None
    after = phones.normalise.cache_info()
    assert (after.hits, after.misses) == (calls.hits, calls.misses), "the resolver parsed a phone-like text"
    assert interpret(text, ScanCodeRules(card_key="shop-secret")).kind in ("phone", "member_no", "unknown")

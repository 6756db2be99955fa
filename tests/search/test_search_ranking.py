"""Digit searches put the member likely at the counter first, find fragments from inside a number, and narrow by
name; the fragment and visit indexes follow every change to members and sales (triggers of migrations 0012, 0015
and 0016)."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from frontdesk.search import SearchService
from frontdesk.store import make_engine, session_factory
from frontdesk.store.db import upgrade_database
from frontdesk.store.members import MemberFields, add_member

NOW = datetime.now(timezone.utc)


def _iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat(timespec="microseconds")


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "rank.sqlite"
    upgrade_database(path)
    engine = make_engine(path)
    people = [  # all end in 9962; names sort Aaron first so name order alone would put him on top
        ("Aaron", "Lim", "8111 9962"), ("Bella", "Tan", "8222 9962"), ("Chloe", "Tan", "8333 9962"),
        ("Dev", "Nair", "8444 9962"), ("Eve", "Ong", ""),  # given a number starting with 9962 below
        ("Farah", "Ali", "8555 9962"),
    ]
    with session_factory(engine)() as session, session.begin():
        for first, last, phone in people:
            add_member(session, MemberFields(first_name=first, last_name=last, phone_raw=phone), "SG")
    engine.dispose()
    conn = sqlite3.connect(path)
    # Not a number phonenumbers calls valid today, but a cached one from the server can be anything E.164.
    conn.execute("UPDATE members SET phone_e164 = '+6599621234', phone_rev = '4321269956' WHERE id = 5")
    # Dev visited BUGIS 3 days ago, Chloe BUGIS 40 days ago, Bella only TAMPINES yesterday, Farah BUGIS a year ago.
    for member, outlet, days in ((4, "BUGIS", 3), (3, "BUGIS", 40), (2, "TAMPINES", 1), (6, "BUGIS", 365)):
        conn.execute("INSERT INTO member_visits(member_id, outlet_code, visits, last_visit_at) VALUES (?,?,1,?)",
                     (member, outlet, _iso(days)))
        conn.execute("UPDATE members SET last_visit_at = max(coalesce(last_visit_at, ''), ?) WHERE id = ?",
                     (_iso(days), member))
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def service(db):
    engine = make_engine(db)
    svc = SearchService(engine, region="SG", outlet_code="BUGIS")
    yield svc
    svc.close()
    engine.dispose()


def names(result):
    return [h.name for h in result.hits]


def test_last_four_ranks_recent_visitors_here_then_anywhere_then_the_rest_and_suffix_before_prefix(service):
    assert names(service.search("9962")) == ["Dev Nair", "Chloe Tan", "Bella Tan", "Aaron Lim", "Farah Ali",
                                             "Eve Ong"]
    hits = service.search("9962").hits
    assert [h.match for h in hits] == ["phone_suffix"] * 5 + ["phone_digits"]


def test_another_outlet_ranks_its_own_visitors_first(db):
    engine = make_engine(db)
    svc = SearchService(engine, region="SG", outlet_code="TAMPINES")
    try:
        assert names(svc.search("9962"))[:3] == ["Bella Tan", "Dev Nair", "Chloe Tan"]
    finally:
        svc.close()
        engine.dispose()


def test_a_five_digit_fragment_from_the_middle_of_a_number_finds_it(service):
    result = service.search("33399")
    assert names(result) == ["Chloe Tan"] and result.kind == "phone_digits"
    assert names(service.search("4 1234")) == []  # "41234" is in nobody's number
    assert names(service.search("621234")) == ["Eve Ong"]


def test_digits_then_a_name_narrow_the_list(service):
    assert names(service.search("9962 tan")) == ["Chloe Tan", "Bella Tan"]
    assert names(service.search("tan 9962")) == ["Chloe Tan", "Bella Tan"]
    assert names(service.search("99622 ali")) == []
    assert names(service.search("59962 far")) == ["Farah Ali"]


def test_fragments_follow_phone_changes_and_deletes(db):
    engine = make_engine(db)
    svc = SearchService(engine, region="SG", outlet_code="BUGIS")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE members SET phone_e164 = '+6587776543', phone_rev = '3456777856' "
                                 "WHERE id = 1")
        assert names(svc.search("77765")) == ["Aaron Lim"]
        assert "Aaron Lim" not in names(svc.search("11199"))
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM members WHERE id = 1")
        assert names(svc.search("77765")) == []
        assert sqlite3.connect(db).execute("SELECT count(*) FROM phone_fragments WHERE member_id = 1").fetchone() \
            == (0,)
    finally:
        svc.close()
        engine.dispose()


def test_a_counter_sale_is_a_visit_at_its_outlet(db):
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO sales(kind, receipt_no, outlet_code, counter_id, sales_mode, member_id, occurred_at, currency,"
        " subtotal_minor, tax_minor, service_charge_minor, discount_minor, total_minor, points_earned,"
        " points_redeemed, status, provisional, receipt_text, note, created_at) VALUES ('sale', 'T1', 'BUGIS', 'C1',"
        " 'counter', 1, ?, 'SGD', 100, 0, 0, 0, 100, 1, 0, 'pending', 0, '', '', ?)", (_iso(0), _iso(0)))
    conn.commit()
    assert conn.execute("SELECT visits FROM member_visits WHERE member_id = 1 AND outlet_code = 'BUGIS'"
                        ).fetchone() == (1,)
    assert conn.execute("SELECT last_visit_at FROM members WHERE id = 1").fetchone()[0] >= _iso(0.01)
    conn.close()


def test_list_shows_the_balance_the_panel_shows(db):
    conn = sqlite3.connect(db)
    conn.execute("UPDATE members SET points_balance = 1000 WHERE id = 4")
    conn.execute("INSERT INTO points_ledger(member_id, kind, points, reason, outlet_code, occurred_at, status) "
                 "VALUES (4, 'earn', 70, 'purchase', 'BUGIS', ?, 'pending')", (_iso(0),))
    conn.commit()
    conn.close()
    engine = make_engine(db)
    svc = SearchService(engine, region="SG", outlet_code="BUGIS")
    try:
        assert svc.search("9962").hits[0].points == 1070
    finally:
        svc.close()
        engine.dispose()


def test_upgrade_builds_fragments_and_visits_for_existing_data(tmp_path):
    import shutil
    from pathlib import Path

    db = tmp_path / "old.sqlite"
    shutil.copy2(Path(__file__).parents[1] / "data" / "counter-0001.sqlite", db)
    upgrade_database(db)
    conn = sqlite3.connect(db)
    members = conn.execute("SELECT count(*) FROM members WHERE phone_e164 IS NOT NULL").fetchone()[0]
    with_fragments = conn.execute("SELECT count(DISTINCT member_id) FROM phone_fragments").fetchone()[0]
    visited = conn.execute("SELECT count(DISTINCT member_id) FROM sales WHERE kind='sale' AND member_id IS NOT NULL"
                           ).fetchone()[0]
    assert with_fragments == members > 0
    assert conn.execute("SELECT count(DISTINCT member_id) FROM member_visits").fetchone()[0] == visited
    conn.close()


def test_six_or_more_digits_need_them_side_by_side_not_just_both_fives(db):
    """Longer fragments intersect two 5-digit ranges first; a number holding both fives apart is not a match."""
    conn = sqlite3.connect(db)
    # Holds "12345" and "23456" (the first and last five of "123456") but never "123456" itself.
    conn.execute("UPDATE members SET phone_e164 = '+6512345923456', phone_rev = '6543293215456' WHERE id = 1")
    conn.execute("UPDATE members SET phone_e164 = '+6591234560', phone_rev = '0654321956' WHERE id = 2")
    conn.commit()
    conn.close()
    engine = make_engine(db)
    svc = SearchService(engine, region="SG", outlet_code="BUGIS")
    try:
        assert names(svc.search("123456")) == ["Bella Tan"]
        assert names(svc.search("1234 56")) == ["Bella Tan"]
        assert sorted(names(svc.search("23456"))) == ["Aaron Lim", "Bella Tan"]
        assert names(svc.search("9123456")) == ["Bella Tan"]
        assert names(svc.search("2345923456")) == ["Aaron Lim"]
    finally:
        svc.close()
        engine.dispose()


def test_a_visit_written_by_any_writer_ranks_the_member_here_first(db):
    """Search looks up this outlet's visit only for members seen recently anywhere; a visit row written straight into
    member_visits (the server's history, an import) must therefore raise the member's last visit (migration 0015)."""
    conn = sqlite3.connect(db)
    # Aaron had no visit at all; the server's history now says he was at BUGIS yesterday.
    conn.execute("INSERT INTO member_visits(member_id, outlet_code, visits, last_visit_at) VALUES (1, 'BUGIS', 2, ?)",
                 (_iso(1),))
    # Farah's year-old BUGIS visit is updated to two days ago.
    conn.execute("UPDATE member_visits SET last_visit_at = ? WHERE member_id = 6 AND outlet_code = 'BUGIS'",
                 (_iso(2),))
    conn.commit()
    assert conn.execute("SELECT last_visit_at FROM members WHERE id IN (1, 6) ORDER BY id").fetchall() == [
        (_iso(1),), (_iso(2),)]
    # An older visit never lowers a later one.
    conn.execute("INSERT INTO member_visits(member_id, outlet_code, visits, last_visit_at) "
                 "VALUES (1, 'TAMPINES', 1, ?)", (_iso(30),))
    conn.commit()
    assert conn.execute("SELECT last_visit_at FROM members WHERE id = 1").fetchone() == (_iso(1),)
    conn.close()
    engine = make_engine(db)
    svc = SearchService(engine, region="SG", outlet_code="BUGIS")
    try:
        assert names(svc.search("9962"))[:4] == ["Aaron Lim", "Farah Ali", "Dev Nair", "Chloe Tan"]
    finally:
        svc.close()
        engine.dispose()


def _sale(conn: sqlite3.Connection, member_id: int, outlet: str, days_ago: float, receipt: str) -> None:
    conn.execute(
        "INSERT INTO sales(kind, receipt_no, outlet_code, counter_id, sales_mode, member_id, occurred_at, currency,"
        " subtotal_minor, tax_minor, service_charge_minor, discount_minor, total_minor, points_earned,"
        " points_redeemed, status, provisional, receipt_text, note, created_at) VALUES ('sale', ?, ?, 'C1',"
        " 'counter', ?, ?, 'SGD', 100, 0, 0, 0, 100, 1, 0, 'pending', 0, '', '', ?)",
        (receipt, outlet, member_id, _iso(days_ago), _iso(days_ago)))


def test_five_digit_ranking_follows_visits_renames_and_the_list_limit(tmp_path):
    """Five digits are ranked from the fragment rows themselves (migration 0016): ends-the-number first, then visited
    here, then anywhere, then by name; a sale, a rename or a new number moves the member at once."""
    path = tmp_path / "five.sqlite"
    upgrade_database(path)
    engine = make_engine(path)
    people = [("Amy", "Koh", "9345 6781"), ("Ben", "Lim", "8124 5678"), ("Cai", "Ng", "9456 7800"),
              ("Dan", "Ho", "8884 5678"), ("Eli", "Tan", "9845 6789")]
    with session_factory(engine)() as session, session.begin():
        for first, last, phone in people:
            add_member(session, MemberFields(first_name=first, last_name=last, phone_raw=phone), "SG")
    svc = SearchService(engine, region="SG", outlet_code="BUGIS")
    try:
        result = svc.search("45678")
        assert names(result) == ["Ben Lim", "Dan Ho", "Amy Koh", "Cai Ng", "Eli Tan"]
        assert [h.match for h in result.hits] == ["phone_suffix"] * 2 + ["phone_digits"] * 3
        with engine.begin() as conn:
            _sale(conn.connection.driver_connection, 5, "BUGIS", 1, "R1")  # Eli, here, yesterday
            _sale(conn.connection.driver_connection, 4, "TAMPINES", 2, "R2")  # Dan, elsewhere, two days ago
            _sale(conn.connection.driver_connection, 3, "BUGIS", 200, "R3")  # Cai, here, but long ago
        assert names(svc.search("45678")) == ["Dan Ho", "Ben Lim", "Eli Tan", "Amy Koh", "Cai Ng"]
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE members SET first_name = 'Zoe', display_name = 'Zoe Koh', "
                                 "search_name = 'zoe koh' WHERE id = 1")
        assert names(svc.search("45678")) == ["Dan Ho", "Ben Lim", "Eli Tan", "Cai Ng", "Zoe Koh"]
        limited = svc.search("45678", limit=3)
        assert names(limited) == ["Dan Ho", "Ben Lim", "Eli Tan"] and limited.more
        # A number holding the five digits twice is listed once, as ending with them.
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE members SET phone_e164 = '+654567845678', phone_rev = '876548765456' "
                                 "WHERE id = 3")
        twice = svc.search("45678")
        assert names(twice) == ["Dan Ho", "Ben Lim", "Cai Ng", "Eli Tan", "Zoe Koh"]
        assert twice.hits[2].match == "phone_suffix"
        # A new number takes the member out of the old number's fragments.
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE members SET phone_e164 = '+6581110000', phone_rev = '0000111856' "
                                 "WHERE id = 2")
        assert "Ben Lim" not in names(svc.search("45678")) and names(svc.search("81110")) == ["Ben Lim"]
    finally:
        svc.close()
        engine.dispose()


def test_the_demo_loaders_bulk_fragments_are_what_the_triggers_write(tmp_path):
    """Above 10,000 members the demo loader fills phone_fragments in one pass with the triggers off; the rows must
    be exactly those the triggers write member by member."""
    from frontdesk.demo.generator import build_demo_database

    bulk = tmp_path / "bulk.sqlite"
    build_demo_database(bulk, members=10_050, history_members=50)
    by_trigger = tmp_path / "trigger.sqlite"
    upgrade_database(by_trigger)
    conn = sqlite3.connect(by_trigger)
    conn.execute("ATTACH DATABASE ? AS bulk", (str(bulk),))
    conn.execute("INSERT INTO main.tiers SELECT * FROM bulk.tiers")
    conn.execute("INSERT INTO main.members SELECT * FROM bulk.members")
    conn.commit()
    rows = "SELECT gram, inside, sort_name, member_id, seen_day FROM {}.phone_fragments ORDER BY 1, 2, 3, 4"
    written = conn.execute(rows.format("main")).fetchall()
    assert written == conn.execute(rows.format("bulk")).fetchall()
    assert len(written) > 50_000
    assert conn.execute("SELECT count(*) FROM main.phone_fragments WHERE seen_day IS NOT NULL").fetchone()[0] > 0
    conn.close()

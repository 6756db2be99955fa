"""Enrolment (duplicate warnings, queueing) and staff PINs (scrypt, lockout with escalating delays)."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from frontdesk.members.enrolment import EnrolmentDraft, EnrolmentRefused, parse_birthday
from frontdesk.staff.service import StaffService, lockout_delay
from tests.sales.conftest import query


def _existing(db):
    return query(db, "SELECT id, first_name, last_name, phone_e164, email FROM members WHERE email IS NOT NULL "
                     "AND (SELECT count(*) FROM members o WHERE o.phone_e164 = members.phone_e164) = 1 "
                     "ORDER BY id LIMIT 1")[0]


def test_same_phone_or_email_or_similar_name_is_flagged_before_saving(services, demo_db):
    member_id, first, last, phone, email = _existing(demo_db)
    check = services.enrolment.check(EnrolmentDraft(phone=phone[3:], first_name="Someone", last_name="Else"))
    assert [(d.member.id, d.reason) for d in check.duplicates] == [(member_id, "same phone")]
    check = services.enrolment.check(EnrolmentDraft(phone="9123 4560", first_name="Someone", email=email.upper()))
    assert [(d.member.id, d.reason) for d in check.duplicates] == [(member_id, "same email")]
    check = services.enrolment.check(EnrolmentDraft(phone="9123 4560", first_name=first.lower(), last_name=last))
    assert member_id in [d.member.id for d in check.duplicates if d.reason == "similar name"]
    both = services.enrolment.check(EnrolmentDraft(phone=phone, first_name="X", email=email))
    assert both.duplicates[0].reason == "same phone, same email"
    with pytest.raises(EnrolmentRefused):
        services.enrolment.enrol(EnrolmentDraft(phone=phone, first_name="Child", last_name=last), staff_id=1)
    assert query(demo_db, "SELECT count(*) FROM members WHERE phone_e164 = ?", (phone,))[0][0] == 1


def test_a_new_member_gets_a_local_id_pending_and_is_queued_like_a_sale(services, settings, demo_db):
    draft = EnrolmentDraft(phone="+65 9123-4560", first_name=" Renée ", last_name="O'Brien",
                           email="Renee.OBrien@Example.com", birthday="21/05/1990", marketing_consent=True)
    check = services.enrolment.check(draft)
    assert check.ok and not check.duplicates, (check.errors, check.duplicates)
    member = services.enrolment.enrol(draft, staff_id=2)
    (row,) = query(demo_db, "SELECT status, server_id, display_name, phone_e164, email, birthday, marketing_consent "
                            "FROM members WHERE id = ?", (member.member_id,))
    assert row == ("pending", None, "Renée O'Brien", "+6591234560", "renee.obrien@example.com", "1990-05-21", 1)
    (kind, partition, payload) = query(demo_db, "SELECT kind, partition_key, payload FROM outbox WHERE member_id = ?",
                                       (member.member_id,))[0]
    assert kind == "enrol" and partition == f"member:{member.member_id}"
    assert json.loads(payload) == {"endpoint": "integration/user/create", "local_member_id": member.member_id,
                                   "params": {"phone": "91234560", "phone_code": "SG",
                                              "email": "renee.obrien@example.com", "first_name": "Renée",
                                              "last_name": "O'Brien", "birth_day": "21", "birth_month": "5",
                                              "birth_year": "1990",
                                              "external_member_id": f"TAMPINES-C2-{member.member_id}"}}
    assert query(demo_db, "SELECT staff_id FROM audit_log WHERE action = 'enrol'")[0][0] == 2
    # Findable at once (name index trigger), and their first sale goes out with the phone (no server id yet).
    assert member.member_id in [hit.id for hit in services.enrolment.search.search("renee brien").hits]
    # Staff may enrol a child on a parent's phone once they have looked at the warning.
    child = EnrolmentDraft(phone="91234560", first_name="Chloé", last_name="O'Brien")
    with pytest.raises(EnrolmentRefused):
        services.enrolment.enrol(child, staff_id=2)
    assert services.enrolment.enrol(child, staff_id=2, confirm_duplicates=True).member_id > member.member_id


def test_enrolment_fields_are_checked_with_messages(services):
    check = services.enrolment.check(EnrolmentDraft(phone="12ab", first_name="J0hn", email="x@", birthday="31/02/1990"))
    assert check.errors == {
        "phone": "A phone number is digits (spaces, dashes and a leading + are fine)",
        "first_name": "Letters only (spaces, hyphens and apostrophes are fine)",
        "email": "That is not an email address (name@example.com)",
        "birthday": "Enter a date like 21/05/1990 or 1990-05-21",
    }
    check = services.enrolment.check(EnrolmentDraft(phone="1234 5678", first_name="", birthday="01/01/2099"))
    assert check.errors["phone"].startswith("“1234 5678” is not a valid number for SG")
    assert check.errors["first_name"] == "Enter the first name"
    assert check.errors["birthday"] == "A birthday cannot be in the future"


@pytest.mark.parametrize("text, expected", [
    ("21/05/1990", date(1990, 5, 21)), ("1990-05-21", date(1990, 5, 21)), ("21 May 1990", date(1990, 5, 21)),
    ("21.5.1990", date(1990, 5, 21)), ("21/05/90", None), ("May 21", None), ("", None)])
def test_birthdays_as_typed_at_a_singapore_counter(text, expected):
    assert parse_birthday(text) == expected


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def test_wrong_pins_are_slowed_down_with_escalating_delays(engine, demo_db):
    clock = Clock()
    staff = StaffService(engine, clock=clock)
    jason = 1
    first = staff.check_pin(jason, "0000")
    assert not first.ok and first.attempts_left == 2 and first.message == "Wrong PIN (2 more tries before a pause)"
    staff.check_pin(jason, "0001")
    third = staff.check_pin(jason, "0002")
    assert third.retry_after_seconds == 30 and "try again in 30 s" in third.message
    # While locked even the right PIN is refused, without being checked.
    locked = staff.check_pin(jason, "1111")
    assert not locked.ok and locked.retry_after_seconds == 30
    clock.now += timedelta(seconds=31)
    fourth = staff.check_pin(jason, "0003")
    assert fourth.retry_after_seconds == 60
    clock.now += timedelta(seconds=61)
    ok = staff.check_pin(jason, "1111")
    assert ok.ok and ok.staff.name == "Jason Lim" and ok.message == "Signed in as Jason Lim"
    assert query(demo_db, "SELECT failed_pin_attempts, locked_until FROM staff WHERE id = 1")[0] == (0, None)
    assert query(demo_db, "SELECT count(*) FROM audit_log WHERE action = 'pin_failed'")[0][0] == 4
    assert [lockout_delay(n) for n in (2, 3, 4, 5, 8, 20)] == [0, 30, 60, 120, 900, 900]


def test_pins_are_stored_hashed_and_roles_matter(engine, demo_db):
    staff = StaffService(engine)
    added = staff.add_staff("S09", "Nur Aisyah", "manager", "4826")
    stored = query(demo_db, "SELECT pin_hash FROM staff WHERE code = 'S09'")[0][0]
    assert stored.startswith("scrypt$") and "4826" not in stored
    assert staff.check_pin(added.id, "4826", require_manager=True).ok
    assert not staff.check_pin(1, "1111", require_manager=True).ok
    assert sorted(s.code for s in staff.list_staff(managers_only=True)) == ["S03", "S09"]
    assert staff.check_pin(added.id, "12ab").message == "Type the PIN: digits only"

"""Enrolling a walk-in at the counter: checked, warned about likely duplicates, saved locally, queued for the server.

A new member gets a local id at once and status 'pending' (the panel shows "waiting for the loyalty server"); the
outbox entry (kind 'enrol') carries them to `integration/user/create`, and the sync engine fills in `server_id`
when the server answers. They can buy and earn straight away: their sales queue behind the enrolment in the same
partition ("member:<local id>"), so the server always hears of the member before their first sale.

Likely duplicates, shown before saving so staff can open the existing member instead:
- the same phone number (a parent and child may share one: staff decide, so this warns but does not forbid);
- the same email address;
- a similar name: the member search's name matching (every word a prefix, any order, accents ignored) on the
  first and last name typed.
`enrol` re-checks inside its write transaction and refuses while duplicates exist unless the caller passes
`confirm_duplicates=True` (staff looked at them and said "this is someone else").
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.domain import phone as phones
from frontdesk.domain.members import MemberSummary, normalise_email
from frontdesk.domain.text import strip_controls
from frontdesk.search import SearchService
from frontdesk.store.members import MemberFields, add_member
from frontdesk.store.models import AuditEntry, Member, OutboxEntry, Staff
from frontdesk.store.types import utc_now

# Letters (any script), spaces and the punctuation real names carry: O'Brien, Siti binte Rahman, Jean-Luc, A. Kumar.
_NAME_SHAPE = re.compile(r"^[^\W\d_]+(?:[ '’.\-/][^\W\d_]*)*$", re.UNICODE)
OLDEST_BIRTH_YEAR = 1900


@dataclass(frozen=True)
class EnrolmentDraft:
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    birthday: str = ""  # as typed: "1990-05-21", "21/05/1990", "21 May 1990"; empty = not given
    marketing_consent: bool = False


@dataclass(frozen=True)
class DuplicateCandidate:
    member: MemberSummary
    reason: str  # "same phone", "same email", "similar name"


@dataclass(frozen=True)
class EnrolmentCheck:
    errors: dict[str, str]  # field -> message: phone, first_name, last_name, email, birthday
    duplicates: list[DuplicateCandidate]
    phone_e164: str | None
    birthday: date | None

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class EnrolledMember:
    member_id: int
    name: str
    phone_e164: str


class EnrolmentRefused(Exception):
    def __init__(self, check: EnrolmentCheck) -> None:
        self.check = check
        if check.errors:
            field, message = next(iter(check.errors.items()))
            super().__init__(f"{field}: {message}")
        else:
            super().__init__("likely duplicate: " + ", ".join(d.member.name for d in check.duplicates))


class EnrolmentService:
    """Call from the UI's serial DB worker (it shares the search service's connection with the lookup)."""

    def __init__(self, engine: Engine, settings: Settings, search: SearchService) -> None:
        self.engine = engine
        self.settings = settings
        self.search = search

    def check(self, draft: EnrolmentDraft, today: date | None = None) -> EnrolmentCheck:
        today = today or utc_now().astimezone(self.settings.zone).date()
        errors: dict[str, str] = {}
        raw_phone = strip_controls(draft.phone or "").strip()
        parsed = None
        if not raw_phone:
            errors["phone"] = "Enter the mobile number"
        elif not phones.looks_like_phone(raw_phone):
            errors["phone"] = "A phone number is digits (spaces, dashes and a leading + are fine)"
        else:
            parsed = phones.normalise(raw_phone, self.settings.phone_region)
            if parsed is None:
                errors["phone"] = f"“{raw_phone}” is not a valid number for {self.settings.phone_region} " \
                                  "(add the country code, e.g. +60, for a foreign number)"
        first = " ".join(strip_controls(draft.first_name or "").split())
        last = " ".join(strip_controls(draft.last_name or "").split())
        if not first:
            errors["first_name"] = "Enter the first name"
        for key, value in (("first_name", first), ("last_name", last)):
            if value and not _NAME_SHAPE.match(value):
                errors.setdefault(key, "Letters only (spaces, hyphens and apostrophes are fine)")
            elif len(value) > 100:
                errors.setdefault(key, "At most 100 characters")
        email_text = (draft.email or "").strip()
        email = normalise_email(email_text) if email_text else None
        if email_text and email is None:
            errors["email"] = "That is not an email address (name@example.com)"
        birthday = None
        if (draft.birthday or "").strip():
            birthday = parse_birthday(draft.birthday)
            if birthday is None:
                errors["birthday"] = "Enter a date like 21/05/1990 or 1990-05-21"
            elif birthday > today:
                errors["birthday"] = "A birthday cannot be in the future"
            elif birthday.year < OLDEST_BIRTH_YEAR:
                errors["birthday"] = f"Check the year: before {OLDEST_BIRTH_YEAR}"
        duplicates = self._duplicates(parsed.e164 if parsed else None, email, first, last)
        return EnrolmentCheck(errors=errors, duplicates=duplicates, phone_e164=parsed.e164 if parsed else None,
                              birthday=birthday)

    def enrol(self, draft: EnrolmentDraft, staff_id: int | None, *, confirm_duplicates: bool = False) -> EnrolledMember:
        """Save the member (status 'pending') and queue them for the server, in one transaction."""
        check = self.check(draft)
        if not check.ok or (check.duplicates and not confirm_duplicates):
            raise EnrolmentRefused(check)
        assert check.phone_e164 is not None
        first = " ".join(strip_controls(draft.first_name).split())
        last = " ".join(strip_controls(draft.last_name or "").split())
        email = normalise_email(draft.email)
        with Session(self.engine) as session, session.begin():
            # Again under the write lock: another counter's enrolment may have just arrived through sync.
            if not confirm_duplicates and _exact_duplicate(session, check.phone_e164, email):
                raise EnrolmentRefused(self.check(draft))
            if staff_id is not None and session.get(Staff, staff_id) is None:
                staff_id = None
            member = add_member(session, MemberFields(
                first_name=first, last_name=last, phone_raw=strip_controls(draft.phone).strip(), email=email,
                birthday=check.birthday,
                marketing_consent=bool(draft.marketing_consent), status="pending"), self.settings.phone_region)
            parsed = phones.normalise(check.phone_e164, self.settings.phone_region)
            assert parsed is not None
            birthday = check.birthday
            params = {
                "phone": parsed.national, "phone_code": parsed.region, "email": email or "",
                "first_name": first, "last_name": last,
                "birth_day": str(birthday.day) if birthday else "", "birth_month": str(birthday.month) if birthday else "",
                "birth_year": str(birthday.year) if birthday else "",
                "external_member_id": external_member_id(self.settings, member.id),
            }
            session.add(OutboxEntry(idempotency_key=uuid.uuid4().hex, kind="enrol", partition_key=f"member:{member.id}",
                                    member_id=member.id, response={},
                                    payload={"endpoint": "integration/user/create", "params": params,
                                             "local_member_id": member.id}))
            session.add(AuditEntry(staff_id=staff_id, action="enrol", details={
                "member_id": member.id, "phone": phones.masked(check.phone_e164),
                "marketing_consent": bool(draft.marketing_consent),
                "duplicates_confirmed": [d.member.id for d in check.duplicates]}))
            session.flush()
            return EnrolledMember(member_id=member.id, name=member.display_name, phone_e164=check.phone_e164)

    def _duplicates(self, e164: str | None, email: str | None, first: str, last: str) -> list[DuplicateCandidate]:
        hits: dict[int, MemberSummary] = {}
        reasons: dict[int, list[str]] = {}

        def note(hit: MemberSummary, reason: str) -> None:
            hits.setdefault(hit.id, hit)
            if reason not in reasons.setdefault(hit.id, []):
                reasons[hit.id].append(reason)

        if e164:
            for hit in self.search.by_phone(e164):
                note(hit, "same phone")
        if email:
            for hit in self.search.by_email(email):
                note(hit, "same email")
        if first and last:
            result = self.search.search(f"{first} {last}", limit=6)
            if result.kind == "name":
                for hit in result.hits:
                    note(hit, "similar name")
        return [DuplicateCandidate(hits[member_id], ", ".join(reasons[member_id])) for member_id in hits][:10]


def external_member_id(settings: Settings, member_id: int) -> str:
    """Our id for a member enrolled here, unique across counters: outlet, counter and the local row id."""
    return f"{settings.outlet_code}-{settings.counter_id}-{member_id}"


def _exact_duplicate(session: Session, e164: str, email: str | None) -> bool:
    query = select(Member.id).where(Member.phone_e164 == e164)
    if email:
        query = select(Member.id).where((Member.phone_e164 == e164) | (Member.email == email))
    return session.scalar(query.limit(1)) is not None


_MONTHS = {name: number for number, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}


def parse_birthday(text: str) -> date | None:
    """A date as people type it at a Singapore counter: day first. ISO (1990-05-21) is accepted too."""
    cleaned = " ".join((text or "").strip().replace(",", " ").split())
    if not cleaned:
        return None
    parts = re.split(r"[\s/.\-]+", cleaned)
    try:
        if len(parts) == 3 and len(parts[0]) == 4 and parts[0].isdigit():
            year, month, day = int(parts[0]), int(parts[1]), int(parts[2])
        elif len(parts) == 3 and parts[1][:3].lower() in _MONTHS:
            day, month, year = int(parts[0]), _MONTHS[parts[1][:3].lower()], int(parts[2])
        elif len(parts) == 3:
            day, month, year = int(parts[0]), int(parts[1]), int(parts[2])
        else:
            return None
        if year < 100:
            return None  # "90" could be 1990 or 2090: ask for four digits rather than guess
        return date(year, month, day)
    except ValueError:
        return None

"""Member search: one box that accepts anything and works out what it is.

What a query can be, tried in this order, all of them on the same text:
- a scanned code: an exact hit in `member_codes` (Eber QR payloads, our signed card tokens as resolved by
  `code_resolver`);
- an email (contains "@"): exact match, else prefix of the address while it is being typed;
- a phone (digits and phone punctuation only): a complete number is matched exactly in its E.164 forms; four
  digits match the end of a stored number ("last 4") and the start of its national part; five or more digits match
  anywhere in a number through the 5-digit fragment index (`phone_fragments`, migrations 0012 and 0016: its rows
  carry their ranking, so five digits read only the members listed or seen recently; six or more digits intersect
  the ranges of their first and last five before reading any member);
- digits and a name together ("9962 tan"): the digit matches narrowed to names starting with the words;
- a custom member ID: exact, case-insensitive;
- a name: every word is a prefix of some word of the name, in any order, case- and accent-insensitive.

Exact identifier hits rank first, then partial ones. Digit matches are ranked by who is likely at this counter:
those whose number ends with the digits before those where they start or sit inside it; then members who visited
this outlet in the last 90 days (most recent first), then those seen anywhere in that time, then the rest by name
(the visit at this outlet is looked up only for members seen recently anywhere, which migration 0015 makes exact).
Names are ordered by name. A phone shared by
several members (parent and child) returns all of them: picking one is the receptionist's call, never ours.

Every query is plain parameter binding and indexed: LIKE is avoided (its case rules need a NOCASE index), prefix
matches use GLOB on BINARY indexes with the pattern escaped, and names go through the FTS5 index. Nothing the user
types reaches SQL as SQL.
"""
from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine

from frontdesk.domain import phone as phones
from frontdesk.domain.members import EMAIL_SHAPE, MemberSummary
from frontdesk.domain.text import MAX_QUERY_LENGTH, name_tokens, strip_controls

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 20

# A code resolver turns scanned text into a member identifier, e.g. a verified card token into a member number.
# It returns ("member_no" | "server_id" | "code", value), ("refused" | "voucher", message) for a code that must not
# or cannot open a member (a forged card; a voucher to apply at checkout), or None when the text is not a code.
CodeResolver = Callable[[str], "tuple[str, str] | None"]

# The list shows the same balance as the panel: the server's figure plus this counter's unconfirmed effects.
_COLUMNS = ("m.id, m.display_name, m.phone_e164, m.email, m.member_no, m.tier_code, max(0, m.points_balance + "
            "coalesce((SELECT sum(l.points) FROM points_ledger l WHERE l.member_id = m.id AND l.status = 'pending'), "
            "0))")
RECENT_DAYS = 90
FRAGMENT = 5  # the n of the phone n-gram index
_PHONE_TEXT = re.compile(r"^\+?[0-9\s\-().]{1,24}$", re.ASCII)
_NOT_DIGIT = re.compile(r"[^0-9]", re.ASCII)
_DIGIT_TOKEN = re.compile(r"^[0-9][0-9\-]*$", re.ASCII)


@dataclass(frozen=True)
class SearchResult:
    query: str
    kind: str  # empty | invalid | code | email | phone | phone_digits | member_no | name | none
    hits: list[MemberSummary] = field(default_factory=list)
    hint: str | None = None  # a plain-language nudge when there is nothing useful to show
    more: bool = False  # more partial matches exist than were returned

    @property
    def unique(self) -> MemberSummary | None:
        """The one member an Enter key (or a scan) should open: a single hit, or a single exact hit."""
        exact = [h for h in self.hits if h.match in _EXACT]
        if len(exact) == 1:
            return exact[0]
        if len(self.hits) == 1 and not self.more:
            return self.hits[0]
        return None


_EXACT = {"code", "email", "phone", "member_no", "server_id"}


def _glob_escape(text: str) -> str:
    """Make user text literal inside a GLOB pattern: the only special characters are * ? [ (and ] inside [])."""
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in text)


class SearchService:
    """Thread-compatible: call from one worker thread at a time (it keeps one read connection).

    `outlet_code` is this counter's outlet: members who visited it recently are ranked first among digit matches.
    """

    def __init__(self, engine: Engine, region: str = "SG", code_resolver: CodeResolver | None = None,
                 outlet_code: str = "") -> None:
        self._engine = engine
        self._region = region
        self._code_resolver = code_resolver
        self.outlet_code = outlet_code
        self._raw: sqlite3.Connection | None = None
        country = phones.country_code_for_region(region)
        self._country = str(country) if country else ""
        self._trunk = phones.national_prefix_for_region(region)

    # The hot path talks to the DB-API connection directly: the statements are fixed strings with bound
    # parameters, and skipping the ORM/Core layers keeps exact lookups in the tens of microseconds.
    def _connection(self) -> sqlite3.Connection:
        if self._raw is None:
            pooled = self._engine.raw_connection()
            self._pooled = pooled
            self._raw = pooled.driver_connection
        return self._raw  # type: ignore[return-value]

    def close(self) -> None:
        if self._raw is not None:
            self._pooled.close()
            self._raw = None

    def _rows(self, sql: str, params: tuple[object, ...], match: str | None) -> list[MemberSummary]:
        """Rows of _COLUMNS; when `match` is None the statement's 8th column says which rule matched."""
        rows = self._connection().execute(sql, params).fetchall()
        # Positional, in MemberSummary's field order (id, name, phone, email, member ID, tier, points, match): the
        # constructor is most of the Python cost of an exact lookup.
        if match is None:
            return [MemberSummary(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]
        return [MemberSummary(r[0], r[1], r[2], r[3], r[4], r[5], r[6], match) for r in rows]

    # --- exact lookups -------------------------------------------------------------------------------------
    def by_code(self, code: str) -> list[MemberSummary]:
        return self._rows(f"SELECT {_COLUMNS} FROM member_codes c JOIN members m ON m.id = c.member_id "
                          "WHERE c.code = ?", (code,), "code")

    def by_email(self, email: str) -> list[MemberSummary]:
        return self._rows(f"SELECT {_COLUMNS} FROM members m WHERE m.email = ?", (email.lower(),), "email")

    def by_phone(self, e164: str) -> list[MemberSummary]:
        return self._rows(f"SELECT {_COLUMNS} FROM members m WHERE m.phone_e164 = ?", (e164,), "phone")

    def by_member_no(self, member_no: str) -> list[MemberSummary]:
        return self._rows(f"SELECT {_COLUMNS} FROM members m WHERE m.member_no = ? COLLATE NOCASE",
                          (member_no,), "member_no")

    def by_server_id(self, server_id: int) -> list[MemberSummary]:
        return self._rows(f"SELECT {_COLUMNS} FROM members m WHERE m.server_id = ?", (server_id,), "server_id")

    # One statement for every exact reading of a phone-like text: a code, the number in its E.164 forms, a member ID.
    _EXACT_PHONE_SQL = (
        f"SELECT {_COLUMNS}, 'code' FROM member_codes c JOIN members m ON m.id = c.member_id WHERE c.code = ?1 "
        f"UNION ALL SELECT {_COLUMNS}, 'phone' FROM members m WHERE m.phone_e164 IN (?2, ?3) "
        f"UNION ALL SELECT {_COLUMNS}, 'member_no' FROM members m WHERE m.member_no = ?1 COLLATE NOCASE")
    # The same with one E.164 form ("+65 9123 4567", "0065…"): no probe for a second, empty form.
    _EXACT_PHONE_ONE_FORM_SQL = (
        f"SELECT {_COLUMNS}, 'code' FROM member_codes c JOIN members m ON m.id = c.member_id WHERE c.code = ?1 "
        f"UNION ALL SELECT {_COLUMNS}, 'phone' FROM members m WHERE m.phone_e164 = ?2 "
        f"UNION ALL SELECT {_COLUMNS}, 'member_no' FROM members m WHERE m.member_no = ?1 COLLATE NOCASE")
    _EXACT_TEXT_SQL = (
        f"SELECT {_COLUMNS}, 'code' FROM member_codes c JOIN members m ON m.id = c.member_id WHERE c.code = ?1 "
        f"UNION ALL SELECT {_COLUMNS}, 'member_no' FROM members m WHERE m.member_no = ?1 COLLATE NOCASE")
    _EXACT_EMAIL_SQL = (
        f"SELECT {_COLUMNS}, 'code' FROM member_codes c JOIN members m ON m.id = c.member_id WHERE c.code = ?1 "
        f"UNION ALL SELECT {_COLUMNS}, 'email' FROM members m WHERE m.email = ?2")

    def _e164_forms(self, text: str, digits: str) -> tuple[str, str]:
        """The two E.164 numbers a typed phone can mean, by string rules only (stored numbers are already valid,
        so a form that is not a real number simply finds nobody): "+65 9123 4567", "0065…", "6591234567" (country
        code without the plus) and "9123 4567" (national, the shop's region; a trunk "0" dropped)."""
        if text.startswith("+"):
            return "+" + digits, ""
        if digits.startswith("00"):
            return "+" + digits[2:], ""
        national = digits[len(self._trunk):] if self._trunk and digits.startswith(self._trunk) else digits
        return (f"+{self._country}{national}" if self._country else ""), "+" + digits

    # --- partial lookups -----------------------------------------------------------------------------------
    def _ranked_digits(self, digits: str, limit: int, names: str | None = None) -> list[MemberSummary]:
        """Numbers containing `digits`, the member likely at this counter first (see the module docstring)."""
        cutoff = (datetime.now(timezone.utc) - timedelta(days=RECENT_DAYS)).isoformat(timespec="microseconds")
        narrow = " AND m.id IN (SELECT rowid FROM members_fts WHERE members_fts MATCH ?5)" if names else ""
        # The last visit at this outlet is looked up only for members seen anywhere in the window: a visit here is
        # never later than the member's last visit (migration 0015 keeps members.last_visit_at so for every writer
        # of member_visits), so the other ninety-odd percent of candidates cost no probe of member_visits.
        here = ("(CASE WHEN m.last_visit_at >= ?3 THEN (SELECT v.last_visit_at FROM member_visits v "
                "WHERE v.member_id = m.id AND v.outlet_code = ?4) END)")
        rank = (f"CASE WHEN {here} >= ?3 THEN 0 WHEN m.last_visit_at >= ?3 THEN 1 ELSE 2 END AS likely, "
                f"CASE WHEN {here} >= ?3 THEN {here} WHEN m.last_visit_at >= ?3 THEN m.last_visit_at "
                "ELSE '' END AS seen, m.search_name AS sort_name")
        order = "ORDER BY how, likely, seen DESC, sort_name, m.id LIMIT ?6"
        # Rank on the cheap columns first; only the rows that make the list are read in full (and have their
        # unconfirmed points summed).
        if len(digits) == FRAGMENT and not names:
            # Exactly one gram, whose rows carry the ranking (migration 0016): "ends the number" is `inside`, the
            # name order is the key's, and `seen_day` tells who might have visited in the window. Those few are
            # read and ranked exactly; everyone else is in the index in list order, so the scan stops at the limit.
            # A day early, so a stored time written with a local offset is still ranked exactly.
            day = "(CAST(julianday(?3) AS INTEGER) - 1)"
            ranked = (f"SELECT * FROM (SELECT m.id AS id, f.inside AS how, {rank} "
                      f"FROM phone_fragments f JOIN members m ON m.id = f.member_id "
                      f"WHERE f.gram = ?1 AND f.seen_day >= {day}) UNION ALL "
                      "SELECT * FROM (SELECT f.member_id AS id, f.inside AS how, 2 AS likely, '' AS seen, "
                      "f.sort_name AS sort_name FROM phone_fragments f "
                      f"WHERE f.gram = ?1 AND (f.seen_day IS NULL OR f.seen_day < {day}) "
                      "ORDER BY f.inside, f.sort_name, f.member_id LIMIT ?6) "
                      "ORDER BY how, likely, seen DESC, sort_name, id LIMIT ?6")
            params: tuple[object, ...] = (digits, "", cutoff, self.outlet_code, None, limit)
        elif len(digits) >= FRAGMENT:
            # Six digits or more: the number must hold both the first and the last five, so the two index ranges
            # are intersected before any member row is read (the substring check then settles adjacency).
            both = (f" AND f.member_id IN (SELECT g.member_id FROM phone_fragments g "
                    f"WHERE g.gram = substr(?1, -{FRAGMENT}))" if len(digits) > FRAGMENT else "")
            ranked = (f"SELECT m.id AS id, CASE WHEN m.phone_rev GLOB ?2 THEN 0 ELSE 1 END AS how, {rank} "
                      f"FROM phone_fragments f JOIN members m ON m.id = f.member_id "
                      f"WHERE f.gram = substr(?1, 1, {FRAGMENT}){both} AND instr(substr(m.phone_e164, 2), ?1) > 0"
                      f"{narrow} {order}")
            params = (digits, digits[::-1] + "*", cutoff, self.outlet_code, names, limit)
        else:
            # Four digits: the end of a number ("last 4"), or the start of a national number in the shop's region.
            prefix = f"+{self._country}{digits}*" if self._country else "+" + digits + "*"
            ranked = (f"SELECT * FROM (SELECT m.id AS id, 0 AS how, {rank} FROM members m "
                      f"WHERE m.phone_rev GLOB ?2{narrow} {order}) UNION ALL "
                      # Numbers that start with the digits only fill up the list after every suffix match, so
                      # they are not ranked (a 4-digit prefix matches a thousand numbers at a million members).
                      "SELECT * FROM (SELECT m.id AS id, 1 AS how, 2 AS likely, '' AS seen, m.search_name AS sort_name "
                      f"FROM members m WHERE m.phone_e164 GLOB ?1 AND NOT m.phone_rev GLOB ?2{narrow} LIMIT ?6) "
                      "ORDER BY how, likely, seen DESC, sort_name, id LIMIT ?6")
            params = (prefix, digits[::-1] + "*", cutoff, self.outlet_code, names, limit)
        sql = (f"SELECT {_COLUMNS}, CASE r.how WHEN 0 THEN 'phone_suffix' ELSE 'phone_digits' END "
               f"FROM ({ranked}) AS r JOIN members m ON m.id = r.id "
               "ORDER BY r.how, r.likely, r.seen DESC, r.sort_name, r.id")
        return self._rows(sql, params, None)

    def _email_prefix(self, text: str, limit: int) -> list[MemberSummary]:
        return self._rows(f"SELECT {_COLUMNS} FROM members m WHERE m.email GLOB ? LIMIT ?",
                          (_glob_escape(text.lower()) + "*", limit), "email_prefix")

    @staticmethod
    def _fts_match(tokens: list[str]) -> str:
        # Tokens are letters and digits only (name_tokens), quoted so FTS5 reads them as strings, never syntax.
        return " AND ".join(f'"{t}"*' for t in tokens[:6])

    def _names(self, tokens: list[str], limit: int) -> list[MemberSummary]:
        return self._rows(
            f"SELECT {_COLUMNS} FROM members_fts f JOIN members m ON m.id = f.rowid "
            "WHERE members_fts MATCH ? LIMIT ?", (self._fts_match(tokens), limit), "name")

    # --- the one box ---------------------------------------------------------------------------------------
    def search(self, query: str, limit: int = DEFAULT_LIMIT) -> SearchResult:
        if not isinstance(query, str):
            return SearchResult(query="", kind="invalid", hint="Type a name, phone number, email or member ID")
        if len(query) > MAX_QUERY_LENGTH * 4:
            return SearchResult(query=query[:40], kind="invalid",
                                hint="That is too long to be a name, phone number or code")
        text = strip_controls(query).strip()
        if not text:
            return SearchResult(query="", kind="empty")
        if len(text) > MAX_QUERY_LENGTH:
            return SearchResult(query=text[:40], kind="invalid",
                                hint="That is too long to be a name, phone number or code")
        try:
            return self._search(text, limit)
        except sqlite3.DatabaseError as error:
            # A query the index cannot take (it should not happen: inputs are bound and sanitised) must not take
            # the counter down; the receptionist gets a hint and the log gets the reason.
            log.warning("search failed for a %d-character query: %s", len(text), error)
            return SearchResult(query=text, kind="none", hint="Search could not run that query; try fewer words")

    def _search(self, text: str, limit: int) -> SearchResult:
        resolved = self._code_resolver(text) if self._code_resolver else None
        if resolved is not None:
            how, value = resolved
            if how in ("refused", "voucher"):
                return SearchResult(query=text, kind="forged" if how == "refused" else "voucher", hint=value)
            exact: list[MemberSummary] = []
            if how == "member_no":
                exact = [replace(h, match="code") for h in self.by_member_no(value)]
            elif how == "server_id" and value.isdigit():
                exact = self.by_server_id(int(value))
            elif how == "code":
                exact = self.by_code(value)
            if exact:
                return SearchResult(query=text, kind="code", hits=exact[:limit])

        if "@" in text:
            return self._email(text, limit)
        if _PHONE_TEXT.match(text):
            return self._phone(text, limit)
        return self._words(text, limit)

    def _phone(self, text: str, limit: int) -> SearchResult:
        digits = _NOT_DIGIT.sub("", text)
        # Too few digits for a whole number (type-ahead): only a code or a member ID can match exactly.
        if len(digits) < 7:
            exact = self._rows(self._EXACT_TEXT_SQL, (text,), None)
        else:
            first, second = self._e164_forms(text, digits)
            exact = (self._rows(self._EXACT_PHONE_SQL, (text, first, second), None) if second
                     else self._rows(self._EXACT_PHONE_ONE_FORM_SQL, (text, first), None))
        if exact:
            kind = "phone" if any(h.match == "phone" for h in exact) else exact[0].match
            return _result(text, kind, exact, [], limit)
        if len(digits) < 4:
            return SearchResult(query=text, kind="phone_digits", hint="Type at least 4 digits of the phone number")
        return _result(text, "phone_digits", [], self._ranked_digits(digits, limit + 1), limit)

    def _email(self, text: str, limit: int) -> SearchResult:
        lowered = text.lower()
        complete = bool(EMAIL_SHAPE.match(lowered))
        exact = self._rows(self._EXACT_EMAIL_SQL, (text, lowered if complete else ""), None)
        if exact:
            return _result(text, "code" if exact[0].match == "code" else "email", exact, [], limit)
        partial = self._email_prefix(text, limit + 1)
        hint = "That does not look like a complete email address" if not partial and not complete else None
        return _result(text, "email", [], partial, limit, hint)

    def _words(self, text: str, limit: int) -> SearchResult:
        exact = self._rows(self._EXACT_TEXT_SQL, (text,), None) if " " not in text else []
        if exact:
            return _result(text, "code" if exact[0].match == "code" else "member_no", exact, [], limit)
        # Digits and a name together ("9962 tan"): the digit matches, narrowed to those names.
        words = text.split()
        digit_words = [w for w in words if _DIGIT_TOKEN.match(w)]
        digits = _NOT_DIGIT.sub("", "".join(digit_words))
        tokens = name_tokens(" ".join(w for w in words if not _DIGIT_TOKEN.match(w)))
        if digit_words and len(digits) >= 4 and tokens:
            hits = self._ranked_digits(digits, limit + 1, names=self._fts_match(tokens))
            return _result(text, "phone_digits", [], hits, limit)
        tokens = name_tokens(text)
        if not tokens:
            return SearchResult(query=text, kind="none", hint="Type a name, phone number, email or member ID")
        partial = sorted(self._names(tokens, limit + 1), key=lambda h: (h.name.casefold(), h.id))
        return _result(text, "name", [], partial, limit)


def _result(text: str, kind: str, exact: list[MemberSummary], partial: list[MemberSummary], limit: int,
            hint: str | None = None) -> SearchResult:
    if not partial and len(exact) == 1 and limit >= 1:  # the usual exact hit: nothing to merge
        return SearchResult(query=text, kind=kind, hits=exact, hint=hint)
    seen: set[int] = set()
    hits: list[MemberSummary] = []
    for hit in exact + partial:
        if hit.id not in seen:
            seen.add(hit.id)
            hits.append(hit)
    more = len(hits) > limit
    if not hits and hint is None:
        hint = "No member found"
    return SearchResult(query=text, kind=kind, hits=hits[:limit], hint=hint, more=more)

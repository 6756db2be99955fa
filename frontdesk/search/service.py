"""Member search: one box that accepts anything and works out what it is.

What a query can be, tried in this order, all of them on the same text:
- a scanned code: an exact hit in `member_codes` (Eber QR payloads, our signed card tokens as resolved by
  `code_resolver`);
- an email (contains "@"): exact match, else prefix of the address while it is being typed;
- a phone (digits and phone punctuation only): a complete number is normalised to E.164 and matched exactly; four
  or more digits also match the end of a stored number ("last 4") and the start of its national part;
- a custom member ID: exact, case-insensitive;
- a name: every word is a prefix of some word of the name, in any order, case- and accent-insensitive.

Exact identifier hits rank first, then partial ones; within a group the order is by name. A phone shared by
several members (parent and child) returns all of them: picking one is the receptionist's call, never ours.

Every query is plain parameter binding and indexed: LIKE is avoided (its case rules need a NOCASE index), prefix
matches use GLOB on BINARY indexes with the pattern escaped, and names go through the FTS5 index. Nothing the user
types reaches SQL as SQL.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace

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

_COLUMNS = "m.id, m.display_name, m.phone_e164, m.email, m.member_no, m.tier_code, m.points_balance, m.search_name"


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
    """Thread-compatible: call from one worker thread at a time (it keeps one read connection)."""

    def __init__(self, engine: Engine, region: str = "SG", code_resolver: CodeResolver | None = None) -> None:
        self._engine = engine
        self._region = region
        self._code_resolver = code_resolver
        self._raw: sqlite3.Connection | None = None

    # The hot path talks to the DB-API connection directly: the statements are fixed strings with bound
    # parameters, and skipping the ORM/Core layers keeps exact lookups in the tens of microseconds.
    def _cursor(self) -> sqlite3.Cursor:
        if self._raw is None:
            pooled = self._engine.raw_connection()
            self._pooled = pooled
            self._raw = pooled.driver_connection
        return self._raw.cursor()  # type: ignore[union-attr]

    def close(self) -> None:
        if self._raw is not None:
            self._pooled.close()
            self._raw = None

    def _rows(self, sql: str, params: tuple[object, ...], match: str) -> list[MemberSummary]:
        cur = self._cursor()
        try:
            rows = cur.execute(sql, params).fetchall()
        finally:
            cur.close()
        return [
            MemberSummary(id=r[0], name=r[1], phone_e164=r[2], email=r[3], member_no=r[4], tier_code=r[5],
                          points=r[6], match=match)
            for r in rows
        ]

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

    # --- partial lookups -----------------------------------------------------------------------------------
    def _phone_digits(self, digits: str, limit: int) -> list[MemberSummary]:
        suffix = self._rows(
            f"SELECT {_COLUMNS} FROM members m WHERE m.phone_rev GLOB ? LIMIT ?",
            (digits[::-1] + "*", limit), "phone_digits")
        if len(suffix) >= limit:
            return suffix
        # Numbers typed from the start without country code: "9123" finds +659123xxxx in the shop's region.
        country = phones.country_code_for_region(self._region)
        prefix = self._rows(
            f"SELECT {_COLUMNS} FROM members m WHERE m.phone_e164 GLOB ? LIMIT ?",
            (f"+{country}{digits}*", limit), "phone_digits") if country else []
        seen = {h.id for h in suffix}
        return suffix + [h for h in prefix if h.id not in seen]

    def _email_prefix(self, text: str, limit: int) -> list[MemberSummary]:
        return self._rows(f"SELECT {_COLUMNS} FROM members m WHERE m.email GLOB ? LIMIT ?",
                          (_glob_escape(text.lower()) + "*", limit), "email_prefix")

    def _names(self, tokens: list[str], limit: int) -> list[MemberSummary]:
        # Tokens are letters and digits only (name_tokens), quoted so FTS5 reads them as strings, never syntax.
        match = " AND ".join(f'"{t}"*' for t in tokens[:6])
        return self._rows(
            f"SELECT {_COLUMNS} FROM members_fts f JOIN members m ON m.id = f.rowid "
            "WHERE members_fts MATCH ? LIMIT ?", (match, limit), "name")

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
        exact: list[MemberSummary] = []
        partial: list[MemberSummary] = []
        kind = "none"
        hint: str | None = None

        resolved = self._code_resolver(text) if self._code_resolver else None
        if resolved is not None:
            how, value = resolved
            if how in ("refused", "voucher"):
                return SearchResult(query=text, kind="forged" if how == "refused" else "voucher", hint=value)
            if how == "member_no":
                exact += [replace(h, match="code") for h in self.by_member_no(value)]
            elif how == "server_id" and value.isdigit():
                exact += self.by_server_id(int(value))
            elif how == "code":
                exact += self.by_code(value)
            if exact:
                return SearchResult(query=text, kind="code", hits=exact[:limit])
        if " " not in text:
            exact += self.by_code(text)
            if exact:
                kind = "code"

        if "@" in text:
            kind = "email"
            if EMAIL_SHAPE.match(text.lower()):
                exact += self.by_email(text)
            if not exact:
                partial += self._email_prefix(text, limit + 1)
                if not partial and not EMAIL_SHAPE.match(text.lower()):
                    hint = "That does not look like a complete email address"
        elif phones.looks_like_phone(text):
            kind = "phone_digits"
            digits = phones.digits_only(text)
            parsed = phones.normalise(text, self._region)
            if parsed:
                exact += self.by_phone(parsed.e164)
                kind = "phone"
            exact += [h for h in self.by_member_no(text) if h.id not in {e.id for e in exact}]
            if len(digits) >= 4:
                partial += self._phone_digits(digits, limit + 1)
            elif not exact:
                hint = "Type at least 4 digits of the phone number"
        else:
            by_no = self.by_member_no(text)
            if by_no:
                exact += by_no
                kind = "member_no"
            tokens = name_tokens(text)
            if tokens:
                partial += self._names(tokens, limit + 1)
                if kind == "none":
                    kind = "name"
            elif not exact:
                hint = "Type a name, phone number, email or member ID"

        seen: set[int] = set()
        hits: list[MemberSummary] = []
        for group in (exact, sorted(partial, key=lambda h: (h.name.casefold(), h.id))):
            for hit in group:
                if hit.id not in seen:
                    seen.add(hit.id)
                    hits.append(hit)
        more = len(hits) > limit
        if not hits and hint is None and kind != "none":
            hint = "No member found"
        return SearchResult(query=text, kind=kind if hits or kind != "none" else "none", hits=hits[:limit],
                            hint=hint, more=more)

"""Staff administration: adding people, setting PINs, changing names and roles, deactivating, CSV import.

The manager's screen (`frontdesk.ui.staff_admin`) and IT's command line (`frontdesk staff ...`) both call
`StaffAdmin`; every change writes one `audit_log` row saying what changed and who did it (a staff id for the screen,
"command line" and the OS account for IT). PINs are only ever stored as scrypt hashes (`frontdesk.domain.pins`) and
never appear in the audit details.

Two rules keep a counter usable: a staff code is unique (it is the id WESS prints on receipts, compared without
regard to case), and the last active manager cannot be deactivated or demoted, since voids, refunds and this screen
all need one.

Qt-free; imports the store and the domain only.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from frontdesk.domain.pins import hash_pin
from frontdesk.store.models import AuditEntry, Staff
from frontdesk.store.types import utc_now

ROLES = ("receptionist", "manager")
STAFF_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-./]{0,31}$")
NAME_MAX = 100
CSV_COLUMNS = ("code", "name", "role", "pin", "active")
PIN_RULE = "A PIN is 4 to 8 digits"


class StaffAdminError(ValueError):
    """A change that cannot be made as asked; the message says why in words a manager understands."""


class _NoManagerLeft(Exception):
    pass


@dataclass(frozen=True)
class StaffRecord:
    """One staff member as the admin screen and `staff list` show them (never the PIN hash itself)."""

    id: int
    code: str
    name: str
    role: str
    active: bool
    has_pin: bool
    locked: bool

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"


@dataclass(frozen=True)
class Actor:
    """Who makes a change, for the audit log: a signed-in manager (staff_id) or IT at the command line."""

    staff_id: int | None
    via: str  # "screen" | "command line" | "first start"
    os_user: str = ""

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {"via": self.via}
        if self.os_user:
            details["os_user"] = self.os_user
        return details


def check_code(code: str) -> str:
    code = (code or "").strip()
    if not code:
        raise StaffAdminError("The staff code is empty: use the staff id WESS prints on receipts, e.g. S01")
    if not STAFF_CODE.match(code):
        raise StaffAdminError(f"Staff code “{code}”: letters, digits and - _ . / only, up to 32, e.g. S01")
    return code


def check_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise StaffAdminError("The name is empty")
    if len(name) > NAME_MAX:
        raise StaffAdminError(f"The name is longer than {NAME_MAX} characters")
    return name


def check_role(role: str) -> str:
    role = (role or "").strip().lower()
    if role not in ROLES:
        raise StaffAdminError(f"Role “{role}”: must be {' or '.join(ROLES)}")
    return role


def check_pin(pin: str) -> str:
    pin = (pin or "").strip()
    if not pin.isdigit() or not 4 <= len(pin) <= 8:
        raise StaffAdminError(PIN_RULE)
    if len(set(pin)) == 1 and len(pin) < 6:
        raise StaffAdminError("A PIN of one repeated digit is too easy to guess: choose another")
    return pin


@dataclass
class ImportRow:
    line: int
    code: str
    name: str
    role: str
    pin: str | None
    active: bool


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "line 4: ..."; any error means nothing was changed

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            return f"nothing imported: {len(self.errors)} problem(s) in the file"
        return (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged")


def parse_staff_csv(text: str) -> tuple[list[ImportRow], list[str]]:
    """Rows of a staff CSV (header: code,name,role[,pin][,active]) and every problem found, by line number."""
    text = text.lstrip("\ufeff")  # Excel's UTF-8 files start with a byte-order mark
    try:
        dialect: Any = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows: list[ImportRow] = []
    problems: list[str] = []
    header: list[str] | None = None
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in record]
            missing = [c for c in ("code", "name", "role") if c not in header]
            unknown = [c for c in header if c not in CSV_COLUMNS]
            if missing:
                problems.append(f"line {line}: the header needs the columns code,name,role (missing "
                                f"{', '.join(missing)}); optional: pin, active")
                return [], problems
            if unknown:
                problems.append(f"line {line}: unknown column(s) {', '.join(unknown)}; the columns are "
                                f"{','.join(CSV_COLUMNS)}")
                return [], problems
            continue
        if len(record) > len(header):
            problems.append(f"line {line}: {len(record)} cells but the header has {len(header)}")
            continue
        cells = dict(zip(header, [cell.strip() for cell in record]))
        try:
            code = check_code(cells.get("code", ""))
            name = check_name(cells.get("name", ""))
            role = check_role(cells.get("role", ""))
            pin = check_pin(cells["pin"]) if cells.get("pin") else None
            active_text = cells.get("active", "").lower() or "yes"
            if active_text not in ("yes", "no", "true", "false", "1", "0", "y", "n"):
                raise StaffAdminError(f"active “{cells.get('active')}”: must be yes or no")
            active = active_text in ("yes", "true", "1", "y")
        except StaffAdminError as error:
            problems.append(f"line {line}: {error}")
            continue
        if code.lower() in seen:
            problems.append(f"line {line}: staff code {code} is already on line {seen[code.lower()]}")
            continue
        seen[code.lower()] = line
        rows.append(ImportRow(line, code, name, role, pin, active))
    if header is None:
        problems.append("the file is empty: it needs a header line code,name,role[,pin][,active]")
    return rows, problems


class StaffAdmin:
    """Changes to the staff list, each audited. Call from a worker thread: hashing a PIN costs ~40 ms."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- reading -------------------------------------------------------------------------------------------
    def list_staff(self, *, include_inactive: bool = True) -> list[StaffRecord]:
        now = utc_now()
        with Session(self.engine) as session:
            query = select(Staff).order_by(Staff.active.desc(), Staff.name)
            if not include_inactive:
                query = query.where(Staff.active.is_(True))
            return [_record(row, now) for row in session.scalars(query)]

    def find(self, code: str) -> StaffRecord | None:
        with Session(self.engine) as session:
            row = _by_code(session, code)
            return _record(row, utc_now()) if row is not None else None

    def active_manager_count(self) -> int:
        with Session(self.engine) as session:
            return _active_managers(session)

    # --- changing ------------------------------------------------------------------------------------------
    def add(self, code: str, name: str, role: str, pin: str | None, actor: Actor) -> StaffRecord:
        code, name, role = check_code(code), check_name(name), check_role(role)
        pin_hash = hash_pin(check_pin(pin)) if pin else None
        with Session(self.engine) as session, session.begin():
            existing = _by_code(session, code)
            if existing is not None:
                state = "" if existing.active else " (deactivated: reactivate them instead)"
                raise StaffAdminError(f"Staff code {existing.code} is already used by {existing.name}{state}")
            row = Staff(code=code, name=name, role=role, pin_hash=pin_hash, active=True, failed_pin_attempts=0)
            session.add(row)
            session.flush()
            _audit(session, actor, "staff_added", row, {"name": name, "role": role, "pin_set": bool(pin_hash)})
            return _record(row, utc_now())

    def set_pin(self, code: str, pin: str, actor: Actor) -> StaffRecord:
        pin_hash = hash_pin(check_pin(pin))
        with Session(self.engine) as session, session.begin():
            row = _require(session, code)
            row.pin_hash = pin_hash
            row.failed_pin_attempts = 0
            row.locked_until = None
            _audit(session, actor, "staff_pin_set", row, {})
            return _record(row, utc_now())

    def update(self, code: str, actor: Actor, *, name: str | None = None, role: str | None = None) -> StaffRecord:
        with Session(self.engine) as session, session.begin():
            row = _require(session, code)
            changes: dict[str, Any] = {}
            if name is not None and check_name(name) != row.name:
                changes["name"] = [row.name, check_name(name)]
                row.name = check_name(name)
            if role is not None and check_role(role) != row.role:
                new_role = check_role(role)
                if row.role == "manager" and row.active and _active_managers(session) <= 1:
                    raise StaffAdminError(f"{row.name} is the only active manager: make someone else a manager first")
                changes["role"] = [row.role, new_role]
                row.role = new_role
            if changes:
                _audit(session, actor, "staff_updated", row, changes)
            return _record(row, utc_now())

    def set_active(self, code: str, active: bool, actor: Actor) -> StaffRecord:
        with Session(self.engine) as session, session.begin():
            row = _require(session, code)
            if row.active == active:
                return _record(row, utc_now())
            if not active and row.role == "manager" and _active_managers(session) <= 1:
                raise StaffAdminError(f"{row.name} is the only active manager: add or promote another manager "
                                      "before deactivating them")
            row.active = active
            _audit(session, actor, "staff_reactivated" if active else "staff_deactivated", row, {})
            return _record(row, utc_now())

    def import_rows(self, rows: Iterable[ImportRow], actor: Actor) -> ImportReport:
        """Add or update every row in one transaction (all or nothing); PINs only where the file gives one."""
        rows = list(rows)
        report = ImportReport()
        hashes = {row.code: hash_pin(row.pin) for row in rows if row.pin}
        try:
            self._import(rows, hashes, actor, report)
        except _NoManagerLeft:
            return ImportReport(errors=["after this import no active manager would be left: keep at least one "
                                        "manager with active = yes"])
        return report

    def _import(self, rows: list[ImportRow], hashes: dict[str, str], actor: Actor, report: ImportReport) -> None:
        with Session(self.engine) as session, session.begin():
            managers_before = _active_managers(session)
            for item in rows:
                row = _by_code(session, item.code)
                if row is None:
                    row = Staff(code=item.code, name=item.name, role=item.role, pin_hash=hashes.get(item.code),
                                active=item.active, failed_pin_attempts=0)
                    session.add(row)
                    session.flush()
                    _audit(session, actor, "staff_added", row, {"name": item.name, "role": item.role,
                                                                "pin_set": item.code in hashes, "import": True})
                    report.added.append(item.code)
                    continue
                changes: dict[str, Any] = {}
                for attr in ("name", "role", "active"):
                    if getattr(row, attr) != getattr(item, attr):
                        changes[attr] = [getattr(row, attr), getattr(item, attr)]
                        setattr(row, attr, getattr(item, attr))
                if item.code in hashes:
                    row.pin_hash = hashes[item.code]
                    row.failed_pin_attempts = 0
                    row.locked_until = None
                    changes["pin_set"] = True
                if changes:
                    _audit(session, actor, "staff_updated", row, {**changes, "import": True})
                    report.updated.append(item.code)
                else:
                    report.unchanged.append(item.code)
            session.flush()
            if managers_before and _active_managers(session) == 0:
                raise _NoManagerLeft  # rolls the whole import back

    def import_csv(self, text: str, actor: Actor) -> ImportReport:
        rows, problems = parse_staff_csv(text)
        if problems:
            return ImportReport(errors=problems)
        return self.import_rows(rows, actor)


def _by_code(session: Session, code: str) -> Staff | None:
    return session.scalars(select(Staff).where(func.lower(Staff.code) == (code or "").strip().lower())).first()


def _require(session: Session, code: str) -> Staff:
    row = _by_code(session, code)
    if row is None:
        raise StaffAdminError(f"No staff member has the code {code!r} (`frontdesk staff list` shows them)")
    return row


def _active_managers(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Staff)
                              .where(Staff.active.is_(True), Staff.role == "manager")) or 0)


def _audit(session: Session, actor: Actor, action: str, row: Staff, details: dict[str, Any]) -> None:
    session.add(AuditEntry(staff_id=actor.staff_id, action=action,
                           details={"staff_code": row.code, "staff_id": row.id, **details, **actor.details()}))


def _record(row: Staff, now: Any) -> StaffRecord:
    return StaffRecord(id=row.id, code=row.code, name=row.name, role=row.role, active=bool(row.active),
                       has_pin=bool(row.pin_hash), locked=row.locked_until is not None and row.locked_until > now)

"""Staff at the counter: who is signed in, PIN checks, and slowing down PIN guessing.

PINs are stored only as scrypt hashes (`frontdesk.domain.pins`). Wrong PINs are counted per staff member in the
database (so restarting the app does not reset the count): the first `FREE_ATTEMPTS` wrong PINs cost nothing, each
further one locks that person's PIN for an escalating delay (30 s, 60 s, 2 min, … capped at 15 min). While locked,
a PIN is refused without even being checked, so guessing runs at the delay's pace, not scrypt's. A right PIN resets
the count. The same check guards sign-in and a manager's approval of a void or refund.

Call from a worker thread (the UI's serial DB worker): checking a PIN costs ~40 ms of scrypt by design.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.orm import Session

from frontdesk.domain.pins import hash_pin, verify_pin
from frontdesk.store.models import AuditEntry, Staff
from frontdesk.store.types import utc_now

ROLES = ("receptionist", "manager")
FREE_ATTEMPTS = 3
FIRST_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 15 * 60


def lockout_delay(failed_attempts: int) -> int:
    """Seconds a PIN stays locked after `failed_attempts` consecutive wrong PINs."""
    if failed_attempts < FREE_ATTEMPTS:
        return 0
    return min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** (failed_attempts - FREE_ATTEMPTS))


@dataclass(frozen=True)
class StaffInfo:
    id: int
    code: str
    name: str
    role: str

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})" + (" · manager" if self.is_manager else "")


@dataclass(frozen=True)
class PinCheck:
    ok: bool
    staff: StaffInfo | None
    message: str  # what to show beside the PIN field
    retry_after_seconds: int = 0  # > 0 while the PIN is locked
    attempts_left: int | None = None  # free attempts left before the delays start


class StaffError(ValueError):
    """A staff record that cannot be saved as given (duplicate code, bad role, bad PIN)."""


class StaffService:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def list_staff(self, *, managers_only: bool = False) -> list[StaffInfo]:
        with Session(self.engine) as session:
            query = select(Staff).where(Staff.active.is_(True)).order_by(Staff.name)
            if managers_only:
                query = query.where(Staff.role == "manager")
            return [_info(row) for row in session.scalars(query)]

    def get(self, staff_id: int) -> StaffInfo | None:
        with Session(self.engine) as session:
            row = session.get(Staff, staff_id)
            return _info(row) if row is not None and row.active else None

    def check_pin(self, staff_id: int, pin: str, *, require_manager: bool = False, purpose: str = "sign-in") -> PinCheck:
        """Check `pin` for one staff member, counting failures and enforcing the lockout delay."""
        now = self.clock()
        with Session(self.engine) as session:
            row = session.get(Staff, staff_id)
            if row is None or not row.active:
                return PinCheck(False, None, "Pick who you are from the list")
            info = _info(row)
            pin_hash, locked_until = row.pin_hash, row.locked_until
        if require_manager and not info.is_manager:
            return PinCheck(False, info, f"{info.name} is not a manager: a manager must approve this")
        if locked_until is not None and locked_until > now:
            wait = _seconds_until(locked_until, now)
            return PinCheck(False, info, f"Too many wrong PINs: try again in {_duration(wait)}", wait)
        if not pin_hash:
            return PinCheck(False, info, f"{info.name} has no PIN yet: a manager must set one")
        pin = (pin or "").strip()
        if not pin.isdigit():
            return PinCheck(False, info, "Type the PIN: digits only")
        attempts = self._claim_attempt(staff_id, now)
        if attempts is None:  # another attempt locked the PIN between our read and now
            return self._locked(staff_id, info, now)
        if verify_pin(pin, pin_hash):
            with Session(self.engine) as session, session.begin():
                session.execute(update(Staff).where(Staff.id == staff_id)
                                .values(failed_pin_attempts=0, locked_until=None))
            return PinCheck(True, info, f"Signed in as {info.name}" if purpose == "sign-in" else "PIN accepted")
        delay = lockout_delay(attempts)
        with Session(self.engine) as session, session.begin():
            session.add(AuditEntry(staff_id=staff_id, action="pin_failed",
                                   details={"purpose": purpose, "attempts": attempts, "locked_seconds": delay}))
        if delay:
            return PinCheck(False, info, f"Wrong PIN. Too many wrong PINs: try again in {_duration(delay)}", delay)
        left = FREE_ATTEMPTS - attempts
        return PinCheck(False, info, f"Wrong PIN ({left} more {'try' if left == 1 else 'tries'} before a pause)",
                        attempts_left=left)

    def _claim_attempt(self, staff_id: int, now: datetime) -> int | None:
        """Count this attempt as a wrong one before the PIN is checked, in one write transaction; None if locked.

        Counting first (and locking as if it will fail) is what makes the lockout hold against attempts running at
        the same time: each one sees the count the previous one left, so only `FREE_ATTEMPTS` guesses get through
        before the pause, however many are made at once. A right PIN then resets the count."""
        with Session(self.engine) as session, session.begin():
            attempts = session.scalar(
                update(Staff)
                .where(Staff.id == staff_id, or_(Staff.locked_until.is_(None), Staff.locked_until <= now))
                .values(failed_pin_attempts=func.coalesce(Staff.failed_pin_attempts, 0) + 1)
                .returning(Staff.failed_pin_attempts))
            if attempts is None:
                return None
            delay = lockout_delay(attempts)
            if delay:
                session.execute(update(Staff).where(Staff.id == staff_id)
                                .values(locked_until=now + timedelta(seconds=delay)))
            return int(attempts)

    def _locked(self, staff_id: int, info: StaffInfo, now: datetime) -> PinCheck:
        with Session(self.engine) as session:
            locked_until = session.scalar(select(Staff.locked_until).where(Staff.id == staff_id))
        wait = _seconds_until(locked_until, now) if locked_until is not None else FIRST_DELAY_SECONDS
        return PinCheck(False, info, f"Too many wrong PINs: try again in {_duration(wait)}", wait)

    # --- staff records (set-up and tests) ------------------------------------------------------------------------
    def add_staff(self, code: str, name: str, role: str, pin: str) -> StaffInfo:
        code, name = code.strip(), name.strip()
        if not code or not name:
            raise StaffError("A staff member needs a code and a name")
        if role not in ROLES:
            raise StaffError(f"Role must be one of {', '.join(ROLES)}")
        try:
            pin_hash = hash_pin(pin)
        except ValueError as error:
            raise StaffError(str(error)) from None
        with Session(self.engine) as session, session.begin():
            if session.scalar(select(Staff.id).where(Staff.code == code)) is not None:
                raise StaffError(f"Staff code {code} is already used")
            row = Staff(code=code, name=name, role=role, pin_hash=pin_hash, active=True, failed_pin_attempts=0)
            session.add(row)
            session.flush()
            return _info(row)

    def set_pin(self, staff_id: int, pin: str) -> None:
        try:
            pin_hash = hash_pin(pin)
        except ValueError as error:
            raise StaffError(str(error)) from None
        with Session(self.engine) as session, session.begin():
            session.execute(update(Staff).where(Staff.id == staff_id)
                            .values(pin_hash=pin_hash, failed_pin_attempts=0, locked_until=None))


def _info(row: Staff) -> StaffInfo:
    return StaffInfo(id=row.id, code=row.code, name=row.name, role=row.role)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"

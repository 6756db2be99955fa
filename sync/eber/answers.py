"""The success shape of each endpoint's answer. Anything else is a contract error (`sync.errors.ContractError`).

A 2xx status proves nothing: an empty body, `{}`, 204 or `{"message": "OK"}` is not delivery. These checks accept
only what the documented (or, where the docs are silent, the observed) success answer carries; the values are
parsed strictly (ids as integers or digit strings, points as integers, money as exact decimals).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sync.errors import ContractError

MAX_ID = 2**53  # ids beyond what JSON numbers hold exactly are not ids


def _id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < MAX_ID else None
    if isinstance(value, str) and value.isdigit() and len(value) < 16:
        number = int(value)
        return number if number > 0 else None
    return None


def integer(value: Any, *, limit: int = 10**12) -> int | None:
    """An integer field (points, balances): an int, or a string of digits; anything else is None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if abs(value) <= limit else None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and len(text) < 14:
            return int(text)
    if isinstance(value, float) and value.is_integer() and abs(value) <= limit:
        return int(value)
    return None


def money(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return amount.quantize(Decimal("0.01"))


def _status_true(body: dict[str, Any], what: str) -> None:
    if body.get("status") is not True:
        raise ContractError(f"the {what} answer does not say status true ({_describe(body)})")


def _describe(body: dict[str, Any]) -> str:
    if not body:
        return "empty answer"
    keys = ", ".join(sorted(str(k) for k in list(body)[:8]))
    return f"fields: {keys}"


@dataclass(frozen=True)
class PointsAnswer:
    """What a points-changing call (issue_point, void, adjust) told us."""

    transaction_id: str | None
    points: int | None
    balance: int | None
    user_id: int | None


def issue_point(body: dict[str, Any]) -> PointsAnswer:
    """E1: `{"status": true, "transaction_id": N, ...}` (S2). Without both, it is not delivery."""
    _status_true(body, "issue_point")
    found = body.get("transaction")
    transaction: dict[str, Any] = found if isinstance(found, dict) else {}
    transaction_id = _id(body.get("transaction_id"))
    if transaction_id is None:
        raise ContractError(f"the issue_point answer has no transaction id ({_describe(body)})")
    return PointsAnswer(str(transaction_id), integer(body.get("points", transaction.get("points"))),
                        integer(body.get("point_balance")),
                        _id(body.get("user_id", transaction.get("user_id"))))


def void_transaction(body: dict[str, Any]) -> PointsAnswer:
    """E4 (code-only evidence, shape unknown): `status: true` is required; the rest is read when present."""
    _status_true(body, "void")
    transaction_id = _id(body.get("transaction_id"))
    return PointsAnswer(None if transaction_id is None else str(transaction_id), integer(body.get("points")),
                        integer(body.get("point_balance")), _id(body.get("user_id")))


def point_adjust(body: dict[str, Any]) -> PointsAnswer:
    """E11 (code-only evidence): `status: true` is required."""
    _status_true(body, "point adjustment")
    transaction_id = _id(body.get("transaction_id"))
    return PointsAnswer(None if transaction_id is None else str(transaction_id), integer(body.get("points")),
                        integer(body.get("point_balance")), _id(body.get("user_id")))


def redeem(body: dict[str, Any], code: str) -> None:
    """E2 (the doc's answer is an image): `status: true`, and the code echoed back when the answer names one."""
    _status_true(body, "redeem")
    echoed = body.get("redeem_code")
    if echoed is not None and str(echoed).casefold() != code.casefold():
        raise ContractError(f"the redeem answer names another code ({str(echoed)[:40]})")


def reward_void(body: dict[str, Any]) -> int | None:
    """E6 (code-only evidence): `status: true`; returns the balance when the answer carries one."""
    _status_true(body, "reward void")
    return integer(body.get("point_balance"))


@dataclass(frozen=True)
class UserAnswer:
    user_id: int
    external_member_id: str | None
    balance: int | None
    body: dict[str, Any]


def user(body: dict[str, Any]) -> UserAnswer:
    """E3/E7/E8: a member object; its `id` is what everything else needs."""
    user_id = _id(body.get("id"))
    if user_id is None:
        raise ContractError(f"the member answer has no member id ({_describe(body)})")
    external = body.get("external_member_id")
    return UserAnswer(user_id, None if external is None else str(external)[:64], balance_of(body), body)


def balance_of(body: dict[str, Any]) -> int | None:
    points = body.get("points")
    if isinstance(points, list) and points and isinstance(points[0], dict):
        return integer(points[0].get("points"))
    return integer(body.get("point_balance"))


@dataclass(frozen=True)
class TransactionRecord:
    """One row of E5 (`GET integration/point_transaction`), as far as a strict natural-key match needs it."""

    id: str
    transaction_no: str
    amount: Decimal | None
    user_id: int | None
    store: str | None
    type: str | None
    points: int | None


def transaction_rows(body: dict[str, Any]) -> tuple[list[TransactionRecord], str | None]:
    """E5's rows (shape unknown publicly: a `data` list of transaction objects is required) and its next_url."""
    rows = body.get("data")
    if not isinstance(rows, list):
        raise ContractError("the transaction list has no data list")
    records = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        transaction_id = _id(row.get("id"))
        number = row.get("transaction_no")
        if transaction_id is None or not isinstance(number, str):
            continue
        store = row.get("custom_store_id", row.get("store_code"))
        records.append(TransactionRecord(str(transaction_id), number, money(row.get("amount")), _id(row.get("user_id")),
                                         None if store is None else str(store),
                                         None if row.get("type") is None else str(row.get("type")),
                                         integer(row.get("points"))))
    next_url = body.get("next_url")
    return records, next_url if isinstance(next_url, str) and next_url else None

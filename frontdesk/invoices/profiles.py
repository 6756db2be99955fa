"""Layout profiles: how to read one WESS receipt layout, as TOML data, so a new layout needs a file, not code.

A profile names where the receipt is (`source`: the HTML body, the plain-text body or a PDF attachment), how to
recognise the layout (`[match]`: sender and subject patterns, marker texts that must all appear), and how to find
each field:
- `[fields]`: one regular expression per field, searched in the receipt's text (multi-line, case-insensitive); the
  value is the group named `value` (or the first group). Fields: outlet, receipt_no, date, staff, customer_name,
  customer_code, customer_mobile, customer_email, subtotal, discount, service_charge, gst, rounding, total, change,
  balance_due, refund_of.
- `[lines]`: either a table (`header`: the header cells that identify it; `[lines.columns]` field -> header text),
  or rows of text between `start` and `end` patterns matched by `row` (named groups = fields). Line fields: code,
  name, type, staff, qty, unit_price, discount, amount. `[lines.types]` maps the printed type to service, product,
  package or redemption; `redemption` (a pattern on the name) marks prepaid/package redemptions too.
- `[payments]`: `row` (groups `method` and `amount`) searched between `start` and `end`; `[payments.methods]` maps
  printed names to the counter's tenders (cash, card, nets, voucher).
- `[gst]`: `rate` ("0.09"), `inclusive` (a pattern: when it matches, prices include GST).
- `[dates]`: strptime `formats`, tried in order; `timezone` the receipts are printed in.
- `[outlets]`: printed outlet name -> outlet code.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BUNDLED_DIR = Path(__file__).with_name("profiles")
SOURCES = ("html", "text", "pdf")
HEADER_FIELDS = ("outlet", "receipt_no", "date", "staff", "customer_name", "customer_code", "customer_mobile",
                 "customer_email", "subtotal", "discount", "service_charge", "gst", "rounding", "total", "change",
                 "balance_due", "refund_of")
LINE_FIELDS = ("code", "name", "type", "staff", "qty", "unit_price", "discount", "amount")
LINE_KINDS = ("service", "product", "package", "redemption")
TENDERS = ("cash", "card", "nets", "voucher")
FLAGS = re.IGNORECASE | re.MULTILINE


class ProfileError(ValueError):
    """A profile file that cannot be used: names the file and the key."""


@dataclass(frozen=True)
class LineRules:
    header: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)
    start: re.Pattern[str] | None = None
    end: re.Pattern[str] | None = None
    row: re.Pattern[str] | None = None
    types: dict[str, str] = field(default_factory=dict)
    redemption: re.Pattern[str] | None = None
    categories: dict[str, str] = field(default_factory=dict)

    @property
    def is_table(self) -> bool:
        return bool(self.columns)


@dataclass(frozen=True)
class PaymentRules:
    row: re.Pattern[str] | None = None
    start: re.Pattern[str] | None = None
    end: re.Pattern[str] | None = None
    methods: dict[str, str] = field(default_factory=dict)  # casefolded printed name -> tender


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    source: str
    path: Path
    sender: re.Pattern[str] | None
    subject: re.Pattern[str] | None
    markers: tuple[str, ...]
    fields: dict[str, re.Pattern[str]]
    lines: LineRules
    payments: PaymentRules
    gst_rate: Decimal
    gst_inclusive: re.Pattern[str] | None
    date_formats: tuple[str, ...]
    zone: ZoneInfo
    outlets: dict[str, str]  # casefolded printed name -> code
    currency: str
    receipt_pattern: re.Pattern[str]
    priority: int

    def tender_for(self, printed: str) -> str | None:
        key = " ".join(printed.split()).casefold()
        if key in self.payments.methods:
            return self.payments.methods[key]
        for name, tender in self.payments.methods.items():
            if key.startswith(name):
                return tender
        return None

    def kind_for(self, printed_type: str, name: str) -> str:
        if self.lines.redemption is not None and self.lines.redemption.search(name or ""):
            return "redemption"
        key = (printed_type or "").strip().casefold()
        return self.lines.types.get(key, "service")


def _pattern(value: Any, where: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise ProfileError(f"{where}: must be a regular expression in quotes")
    try:
        return re.compile(value, FLAGS)
    except re.error as error:
        raise ProfileError(f"{where}: not a valid regular expression ({error})") from None


def _opt_pattern(block: dict[str, Any], key: str, where: str) -> re.Pattern[str] | None:
    return _pattern(block[key], f"{where}.{key}") if key in block else None


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ProfileError(f"{where}.{key}: must be a table")
    return value


def parse_profile(text: str, path: Path) -> Profile:
    where = path.name
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{where}: not valid TOML ({error})") from None
    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        raise ProfileError(f"{where}: name must be letters, digits, dot, dash or underscore (up to 64)")
    source = data.get("source")
    if source not in SOURCES:
        raise ProfileError(f"{where}: source must be one of {', '.join(SOURCES)}")
    match = _table(data, "match", where)
    markers = match.get("markers", [])
    if not isinstance(markers, list) or not all(isinstance(m, str) and m for m in markers):
        raise ProfileError(f"{where}: match.markers must be a list of texts")
    if not markers and "sender" not in match and "subject" not in match:
        raise ProfileError(f"{where}: [match] needs markers, sender or subject, or it would claim every mail")
    fields_block = _table(data, "fields", where)
    fields: dict[str, re.Pattern[str]] = {}
    for key, value in fields_block.items():
        if key not in HEADER_FIELDS:
            raise ProfileError(f"{where}: fields.{key} is not a field (known: {', '.join(HEADER_FIELDS)})")
        fields[key] = _pattern(value, f"{where}: fields.{key}")
    for required in ("receipt_no", "date", "total"):
        if required not in fields:
            raise ProfileError(f"{where}: fields.{required} is required")

    lines_block = _table(data, "lines", where)
    columns = _table(lines_block, "columns", f"{where}: lines")
    for key in columns:
        if key not in LINE_FIELDS:
            raise ProfileError(f"{where}: lines.columns.{key} is not a line field")
    types = {str(k).casefold(): str(v) for k, v in _table(lines_block, "types", f"{where}: lines").items()}
    for printed, kind in types.items():
        if kind not in LINE_KINDS:
            raise ProfileError(f"{where}: lines.types.{printed} must be one of {', '.join(LINE_KINDS)}")
    categories = {"product": "Retail", "package": "Package", "redemption": "Package Redemption"}
    categories.update({str(k): str(v) for k, v in _table(lines_block, "categories", f"{where}: lines").items()})
    lines = LineRules(
        header=tuple(str(h) for h in lines_block.get("header", columns.values())),
        columns={k: str(v) for k, v in columns.items()},
        start=_opt_pattern(lines_block, "start", f"{where}: lines"),
        end=_opt_pattern(lines_block, "end", f"{where}: lines"),
        row=_opt_pattern(lines_block, "row", f"{where}: lines"),
        types=types, redemption=_opt_pattern(lines_block, "redemption", f"{where}: lines"),
        categories=categories)
    if not lines.is_table and lines.row is None:
        raise ProfileError(f"{where}: [lines] needs columns (a table) or a row pattern")
    if lines.row is not None and not {"name", "amount"} <= set(lines.row.groupindex):
        raise ProfileError(f"{where}: lines.row needs the groups (?P<name>...) and (?P<amount>...)")
    if lines.is_table and not {"name", "amount"} <= set(lines.columns):
        raise ProfileError(f"{where}: lines.columns needs name and amount")

    pay_block = _table(data, "payments", where)
    methods = {" ".join(str(k).split()).casefold(): str(v)
               for k, v in _table(pay_block, "methods", f"{where}: payments").items()}
    for printed, tender in methods.items():
        if tender not in TENDERS:
            raise ProfileError(f"{where}: payments.methods.{printed} must be one of {', '.join(TENDERS)}")
    payments = PaymentRules(row=_opt_pattern(pay_block, "row", f"{where}: payments"),
                            start=_opt_pattern(pay_block, "start", f"{where}: payments"),
                            end=_opt_pattern(pay_block, "end", f"{where}: payments"), methods=methods)
    if payments.row is not None and not {"method", "amount"} <= set(payments.row.groupindex):
        raise ProfileError(f"{where}: payments.row needs the groups (?P<method>...) and (?P<amount>...)")

    gst = _table(data, "gst", where)
    try:
        rate = Decimal(str(gst.get("rate", "0.09")))
    except InvalidOperation:
        raise ProfileError(f"{where}: gst.rate must be a decimal like \"0.09\"") from None
    dates = _table(data, "dates", where)
    formats = dates.get("formats", ["%d/%m/%Y %I:%M %p", "%d-%m-%Y %I:%M %p", "%d/%m/%Y %H:%M"])
    if not isinstance(formats, list) or not formats:
        raise ProfileError(f"{where}: dates.formats must be a list of strptime formats")
    try:
        zone = ZoneInfo(str(dates.get("timezone", "Asia/Singapore")))
    except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError, OSError for folders
        raise ProfileError(f"{where}: dates.timezone is not a time zone") from None
    outlets = {" ".join(str(k).split()).casefold(): str(v).upper() for k, v in _table(data, "outlets", where).items()}
    receipt = data.get("receipt_pattern", r"^[A-Za-z0-9][A-Za-z0-9./_#:-]{0,63}$")
    priority = data.get("priority", 0)
    if not isinstance(priority, int):
        raise ProfileError(f"{where}: priority must be a whole number")
    return Profile(
        name=name, description=str(data.get("description", "")), source=source, path=path,
        sender=_opt_pattern(match, "sender", f"{where}: match"),
        subject=_opt_pattern(match, "subject", f"{where}: match"), markers=tuple(markers), fields=fields,
        lines=lines, payments=payments, gst_rate=rate,
        gst_inclusive=_opt_pattern(gst, "inclusive", f"{where}: gst"),
        date_formats=tuple(str(f) for f in formats), zone=zone, outlets=outlets,
        currency=str(data.get("currency", "SGD")).upper(),
        receipt_pattern=re.compile(str(receipt)), priority=priority)


def load_profiles(extra_dirs: tuple[Path, ...] | list[Path] = ()) -> list[Profile]:
    """The bundled profiles, then those in `extra_dirs` (a later file with the same name replaces an earlier one),
    in matching order: higher priority first, then by name."""
    found: dict[str, Profile] = {}
    for folder in (BUNDLED_DIR, *extra_dirs):
        if not folder.is_dir():
            raise ProfileError(f"{folder}: no such folder of layout profiles")
        for path in sorted(folder.glob("*.toml")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise ProfileError(f"{path.name}: cannot be read ({error})") from None
            profile = parse_profile(text, path)
            found[profile.name] = profile
    return sorted(found.values(), key=lambda p: (-p.priority, p.name))

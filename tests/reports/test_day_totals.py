"""The day's totals against sums computed here, independently, from the rows of a generated day (sales, voids,
partial refunds, split tenders, rewards, points-as-money, provisional redemptions, rejected, in-doubt, discarded and
pending entries, point adjustments)."""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.reports.day import DayScope, load_day
from tests.reports.conftest import GeneratedDay, sql


def plain(minor: int) -> str:
    return str((Decimal(minor) / 100).quantize(Decimal("0.01")))


def window(g: GeneratedDay) -> tuple[str, str]:
    zone = g.home.zone
    start = datetime.combine(g.day, time.min, zone).astimezone(timezone.utc)
    end = datetime.combine(g.day + timedelta(days=1), time.min, zone).astimezone(timezone.utc)
    return start.isoformat(timespec="microseconds"), end.isoformat(timespec="microseconds")


def expected(g: GeneratedDay) -> dict:
    start, end = window(g)
    rows = sql(g.db, "SELECT s.id, s.kind, s.total_minor, s.tax_minor, s.service_charge_minor, s.discount_minor, "
                     "s.points_earned, s.points_redeemed, s.server_points, s.status, s.provisional, "
                     "(SELECT status FROM outbox o WHERE o.sale_id = s.id ORDER BY o.id DESC LIMIT 1) "
                     "FROM sales s WHERE s.occurred_at >= ? AND s.occurred_at < ?", (start, end))
    refused = {"rejected"}
    out: dict = defaultdict(int)
    by_method: dict = defaultdict(int)
    by_category: dict = defaultdict(int)
    sync: dict = defaultdict(int)
    for (sale_id, kind, total, tax, service, discount, earned, redeemed, server, status, provisional,
         entry) in rows:
        gone = status in refused
        state = {"done": "synced", "parked": "rejected", "discarded": "discarded", "pending": "pending",
                 "in_doubt": "in_doubt"}.get(entry, None) if entry else ("synced" if status == "synced" else
                                                                        "local" if status == "pending" else status)
        sync[state] += 1
        if kind == "sale":
            out["count"] += 1
            out["gross"] += total
            out["tax"] += tax
            out["service"] += service
            out["discount"] += discount
            for method, amount in sql(g.db, "SELECT method, amount_minor FROM sale_payments WHERE sale_id=?",
                                      (sale_id,)):
                by_method[method] += amount
            for category, amount in sql(g.db, "SELECT category, total_minor FROM sale_items WHERE sale_id=?",
                                        (sale_id,)):
                by_category[category or "(none)"] += amount
            if not gone:
                out["issued"] += earned
                out["redeemed"] += redeemed
                if status == "synced":
                    out["server"] += server
                else:
                    out["unconfirmed"] += earned
                if provisional:
                    out["provisional"] += sum(r[0] for r in sql(
                        g.db, "SELECT points FROM sale_redemptions WHERE sale_id=?", (sale_id,)))
                for kind_, points, amount in sql(g.db, "SELECT kind, points, discount_minor FROM sale_redemptions "
                                                       "WHERE sale_id=?", (sale_id,)):
                    out[f"rw_{kind_}_count"] += 1
                    out[f"rw_{kind_}_points"] += points
                    out[f"rw_{kind_}_amount"] += amount
        else:
            out[f"{kind}s"] += total
            out[f"{kind}_count"] += 1
            if not gone:
                out["clawed"] += redeemed
                out["restored"] += earned
    adjust = sql(g.db, "SELECT a.points, o.status FROM point_adjustments a JOIN outbox o ON o.id = a.outbox_id "
                       "WHERE a.occurred_at >= ? AND a.occurred_at < ?", (start, end))
    for points, status in adjust:
        sync[{"done": "synced", "parked": "rejected"}.get(status, status)] += 1
        if status not in ("parked", "discarded"):
            out["added" if points > 0 else "removed"] += abs(points)
    out["by_method"] = dict(by_method)
    out["by_category"] = dict(by_category)
    out["sync"] = dict(sync)
    return out


def test_totals_match_independent_sums_to_the_cent_and_the_point(generated_day: GeneratedDay) -> None:
    g = generated_day
    want = expected(g)
    report = load_day(g.engine, g.scope, g.home)
    got = report.totals.to_dict()
    assert got["sales"]["count"] == want["count"] >= 40
    assert got["sales"]["gross"] == plain(want["gross"])
    assert got["sales"]["tax"] == plain(want["tax"])
    assert got["sales"]["service_charge"] == plain(want["service"])
    assert got["sales"]["discounts"] == plain(want["discount"])
    assert got["voids"] == {"count": want["void_count"], "amount": plain(want["voids"])}
    assert got["refunds"] == {"count": want["refund_count"], "amount": plain(want["refunds"])}
    assert want["void_count"] == 2 and want["refund_count"] == 3
    assert got["net"] == plain(want["gross"] - want["voids"] - want["refunds"])
    assert got["by_payment_method"] == {m: plain(a) for m, a in want["by_method"].items()}
    assert {"cash", "card", "points"} <= set(got["by_payment_method"])
    assert {k: v["amount"] for k, v in got["by_category"].items()} == \
        {k: plain(v) for k, v in want["by_category"].items()}
    points = got["points"]
    assert points["issued"] == want["issued"]
    assert points["issued_server"] == want["server"]
    assert points["issued_unconfirmed"] == want["unconfirmed"]
    assert points["redeemed"] == want["redeemed"]
    assert points["reversed"]["clawed_back"] == want["clawed"]
    assert points["reversed"]["restored"] == want["restored"]
    assert points["provisional"]["points"] == want["provisional"] > 0
    assert points["adjusted"] == {"count": 2, "added": 150, "removed": 40}
    assert points["net"] == (want["issued"] - want["redeemed"] - want["clawed"] + want["restored"]
                             + points["reversed"]["shortfall"] + 150 - 40)
    assert points["differences"] and all(d["server"] != d["counter"] for d in points["differences"])
    for kind in ("reward", "points_money"):
        assert got["rewards"][kind] == {"count": want[f"rw_{kind}_count"], "points": want[f"rw_{kind}_points"],
                                        "amount": plain(want[f"rw_{kind}_amount"])}
    for state, count in want["sync"].items():
        assert got["sync"][state] == count, state
    assert got["sync"]["rejected"] >= 2 and got["sync"]["in_doubt"] >= 2 and got["sync"]["discarded"] == 1
    assert got["sync"]["oldest_unsynced"] is not None
    # The staff figures add up to the day's.
    staff = got["by_staff"].values()
    assert sum(Decimal(s["gross"]) for s in staff) == Decimal(got["sales"]["gross"])
    assert sum(Decimal(s["net"]) for s in staff) == Decimal(got["net"])
    assert sum(s["sales"] for s in staff) == got["sales"]["count"]
    json.dumps(got)  # JSON-ready as it is


def test_rows_carry_every_status_and_the_table_adds_up(generated_day: GeneratedDay) -> None:
    report = load_day(generated_day.engine, generated_day.scope, generated_day.home)
    statuses = {row.status for row in report.rows}
    assert {"synced", "pending", "in doubt", "rejected", "discarded", "voided", "refunded"} <= statuses
    assert {row.kind for row in report.rows} >= {"sale", "void", "refund", "adjustment"}
    assert any(row.provisional for row in report.rows)
    assert sum(row.total_minor for row in report.rows) == report.totals.net_minor
    times = [row.occurred_at for row in report.rows]
    assert times == sorted(times)
    split = [row for row in report.rows if " + " in row.tender]
    assert split, "split tenders are listed as such"


def test_scope_filters_by_outlet_and_counter(generated_day: GeneratedDay) -> None:
    g = generated_day
    everything = load_day(g.engine, g.scope, g.home).totals
    ours = load_day(g.engine, DayScope(g.day, outlet="TAMPINES", counter="C2"), g.home).totals
    elsewhere = load_day(g.engine, DayScope(g.day, outlet="NOWHERE"), g.home)
    assert ours.sales_count >= 40 and ours.sales_count <= everything.sales_count
    assert elsewhere.rows == [] and elsewhere.totals.gross_minor == 0
    other_day = load_day(g.engine, DayScope(g.day - timedelta(days=400)), g.home)
    assert other_day.totals.sales_count == 0 and other_day.totals.to_dict()["net"] == "0.00"


def test_enrolments_of_the_day_are_counted(generated_day: GeneratedDay) -> None:
    from frontdesk.members.enrolment import EnrolmentDraft

    g = generated_day
    today = datetime.now(g.home.zone).date()
    before = load_day(g.engine, DayScope(today), g.home).totals.members_enrolled
    g.services.enrolment.enrol(EnrolmentDraft(phone="+65 9123 4599", first_name="Day", last_name="Tester"),
                               staff_id=1, confirm_duplicates=True)
    report = load_day(g.engine, DayScope(today), g.home)
    assert report.totals.members_enrolled == before + 1
    row = [r for r in report.rows if r.kind == "enrolment"][-1]
    assert row.member_name == "Day Tester" and row.sync == "pending"
    # Another counter's scope does not count this counter's enrolments.
    assert load_day(g.engine, DayScope(today, counter="C9"), g.home).totals.members_enrolled == 0


@given(st.integers(min_value=-10**12, max_value=10**12), st.sampled_from(["SGD", "JPY", "KWD", "USD"]))
def test_fast_plain_formatting_is_money_plain(minor: int, currency: str) -> None:
    from frontdesk.domain.money import Money
    from frontdesk.reports.day import plain_minor

    assert plain_minor(minor, currency) == Money.from_minor(minor, currency).plain()

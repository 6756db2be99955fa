"""Tiers over a rolling window: current, next, progress, and the downgrade prompt for the desk."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from frontdesk.domain.programme import (
    ActivityEntry,
    MemberStanding,
    load_programme,
    tier_status,
)

from .helpers import DEMO_PATH, money, programme

DEMO = load_programme(DEMO_PATH)  # Classic 0, Silver 800, Gold 2000, Platinum 5000; 365 days; warn 60 days
TODAY = date(2026, 1, 10)


def spent(*entries: tuple[date, str]) -> tuple[ActivityEntry, ...]:
    return tuple(ActivityEntry(on=on, spend=money(amount), points=0) for on, amount in entries)


def test_progress_to_the_next_tier():
    member = MemberStanding("SILVER", activity=spent((date(2025, 6, 1), "700.00"), (date(2025, 12, 20), "500.00")))
    status = tier_status(DEMO, member, TODAY)
    assert status.current.code == "SILVER" and status.next.code == "GOLD"
    assert status.window_value == money("1200.00")
    assert status.progress == Decimal("0.6")
    assert status.remaining == money("800.00")
    assert status.progress_text() == "S$800.00 more for Gold"
    assert status.downgrade is None


def test_activity_leaves_the_window_after_window_days():
    member = MemberStanding(
        "CLASSIC",
        activity=spent(
            (TODAY - timedelta(days=365), "100.00"),  # left the window today
            (TODAY - timedelta(days=364), "200.00"),  # still in
            (TODAY + timedelta(days=1), "999.00"),  # not yet happened
        ),
    )
    assert tier_status(DEMO, member, TODAY).window_value == money("200.00")


def test_top_tier_has_no_next_and_full_progress():
    member = MemberStanding("PLATINUM", activity=spent((date(2025, 12, 1), "6000.00")))
    status = tier_status(DEMO, member, TODAY)
    assert status.next is None and status.remaining is None and status.progress == 1
    assert status.progress_text() == "Platinum: top tier"


def test_window_reaching_the_next_tier_before_the_server_upgrades():
    member = MemberStanding("SILVER", activity=spent((date(2025, 12, 1), "2100.00")))
    status = tier_status(DEMO, member, TODAY)
    assert status.current.code == "SILVER" and status.qualified.code == "GOLD"
    assert status.remaining == money("0.00") and status.progress == 1
    assert status.progress_text() == "Qualifies for Gold"


def test_downgrade_warning_says_what_keeps_the_tier_and_until_when():
    member = MemberStanding("GOLD", activity=spent((date(2025, 2, 20), "100.00"), (date(2025, 9, 1), "1960.00")))
    status = tier_status(DEMO, member, TODAY)
    warning = status.downgrade
    assert warning is not None
    assert warning.on == date(2026, 2, 20)  # the S$100 of 20 Feb 2025 leaves the window
    assert warning.to_tier.code == "SILVER"
    assert warning.keep_with == money("40.00")
    assert warning.kept_until == date(2026, 8, 31)  # then the S$1,960 of 1 Sep 2025 leaves too
    assert warning.text == "S$40.00 more today keeps Gold until 31 Aug 2026 (otherwise Silver from 20 Feb 2026)"


def test_no_warning_when_the_downgrade_is_beyond_warn_days():
    member = MemberStanding("GOLD", activity=spent((date(2025, 2, 20), "100.00"), (date(2025, 9, 1), "1960.00")))
    assert tier_status(DEMO, member, date(2025, 12, 1)).downgrade is None  # 81 days ahead


def test_downgrade_due_now_when_the_window_is_already_short():
    member = MemberStanding("GOLD", activity=spent((date(2025, 10, 1), "1900.00")))
    warning = tier_status(DEMO, member, TODAY).downgrade
    assert warning.on == TODAY and warning.keep_with == money("100.00")
    assert warning.text.endswith("(otherwise Silver now)")


def test_lowest_tier_never_downgrades_and_unknown_tier_falls_back_to_the_window():
    assert tier_status(DEMO, MemberStanding("CLASSIC"), TODAY).downgrade is None
    status = tier_status(DEMO, MemberStanding("DIAMOND", activity=spent((date(2025, 12, 1), "900.00"))), TODAY)
    assert status.current.code == "SILVER"
    assert "Unknown tier “DIAMOND”" in status.warnings[0]


def test_points_basis_measures_points():
    def points_basis(data):
        data["tiers"]["basis"] = "points"
        data["tiers"]["window_days"] = 30
        data["tiers"]["levels"] = [
            {"code": "CLASSIC", "name": "Classic", "threshold": 0},
            {"code": "GOLD", "name": "Gold", "threshold": 1000},
        ]

    prog = programme(points_basis)
    activity = (
        ActivityEntry(TODAY - timedelta(days=20), money("0"), 700),
        ActivityEntry(TODAY - timedelta(days=2), money("0"), 400),
    )
    status = tier_status(prog, MemberStanding("GOLD", activity=activity), TODAY)
    assert status.window_value == 1100 and status.next is None
    warning = status.downgrade
    assert warning.on == TODAY + timedelta(days=10) and warning.keep_with == 600
    assert warning.text == "600 pts more today keeps Gold until 6 Feb 2026 (otherwise Classic from 20 Jan 2026)"
    classic = tier_status(prog, MemberStanding("CLASSIC", activity=activity[:1]), TODAY)
    assert classic.remaining == 300 and classic.progress == Decimal("0.7")
    assert classic.progress_text() == "300 pts more for Gold"

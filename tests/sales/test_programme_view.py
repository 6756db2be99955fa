"""The active programme (server copy, configured file, bundled demo) and what the member panel shows from it."""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, timedelta

from frontdesk.domain.programme import load_programme, programme_to_dict
from frontdesk.loyalty.programme import ProgrammeService, bundled_programme_path
from frontdesk.members.lookup import LookupService
from tests.sales.conftest import execute, member_with_points, query


def _store_programme(db, version: str, definition: str, fetched_at: str) -> None:
    execute(db, "INSERT INTO programme_versions(version, source, definition, fetched_at, active) "
                "VALUES (?, 'server', ?, ?, 1)", (version, definition, fetched_at))


def test_the_pulled_programme_wins_and_a_bad_one_is_skipped_with_the_reason(engine, settings, demo_db, tmp_path):
    import json

    demo = programme_to_dict(load_programme(bundled_programme_path()))
    pulled = copy.deepcopy(demo)
    pulled["programme"]["name"] = "Lumière Rewards (server)"
    _store_programme(demo_db, "etag-1", json.dumps(pulled), "2026-11-20T00:00:00.000000+00:00")
    broken = copy.deepcopy(demo)
    broken["earning"]["rounding"] = "sideways"
    _store_programme(demo_db, "etag-2", json.dumps(broken), "2026-11-22T00:00:00.000000+00:00")
    active = ProgrammeService(engine, settings).active
    assert active.programme.name == "Lumière Rewards (server)" and active.source == "server etag-1"
    assert "etag-2" in active.problems[0] and "earning.rounding" in active.problems[0]

    execute(demo_db, "UPDATE programme_versions SET active = 0")
    bad_file = tmp_path / "broken.toml"
    bad_file.write_text("[programme]\nschema = 1\n")
    fallback = ProgrammeService(engine, replace(settings, programme_file=str(bad_file))).active
    assert fallback.source == "bundled demo" and "broken.toml" in fallback.problems[0]


def test_the_member_panel_gets_points_value_tier_progress_downgrade_warning_and_rewards(engine, settings, demo_db):
    member_id = member_with_points(demo_db, 3000, "GOLD")
    today = date(2026, 11, 23)
    # The server says: S$2,100 spent in the window, and Gold lapses in 40 days unless they spend again.
    execute(demo_db, "UPDATE members SET window_spend_minor = 210000, tier_expires_on = ? WHERE id = ?",
            ((today + timedelta(days=40)).isoformat(), member_id))
    programmes = ProgrammeService(engine, settings)
    lookup = LookupService(engine, programme=programmes)
    try:
        view = lookup.member_view(member_id, today=today)
    finally:
        lookup.close()
    points = query(demo_db, "SELECT points_balance FROM members WHERE id = ?", (member_id,))[0][0]
    assert view.points_value.minor == points  # 100 points = S$1.00
    assert view.next_tier_name == "Platinum" and 0 < view.next_tier_progress < 1
    assert view.next_tier_text == "S$2,900.00 more for Platinum"
    assert view.downgrade_warning.startswith("S$2,000.00 more today keeps Gold until")
    assert "otherwise Classic from 2 Jan 2027" in view.downgrade_warning
    codes = [reward.code for reward in view.rewards]
    assert "CUT10" in codes and "POINTS" in codes

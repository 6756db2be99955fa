"""Every Qt item model the screens use passes Qt's own model checks (pytest-qt's qtmodeltester)."""
from __future__ import annotations

from frontdesk.domain.members import MemberSummary
from frontdesk.ui.search_results import SearchResultsModel


def _hit(n: int) -> MemberSummary:
    return MemberSummary(id=n, name=f"Member {n}", phone_e164=f"+659000{n:04d}", email=None, member_no=f"M{n:05d}",
                         tier_code="GOLD" if n % 2 else None, points=100 * n, match="phone_digits")


def test_search_results_model_passes_the_model_tester(qtmodeltester) -> None:
    model = SearchResultsModel()
    model.set_hits([_hit(n) for n in range(1, 6)])
    qtmodeltester.check(model, force_py=True)
    model.set_hits([])
    qtmodeltester.check(model, force_py=True)

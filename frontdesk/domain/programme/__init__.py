"""The loyalty programme engine: pure functions over plain dataclasses (no database, no Qt, no HTTP).

The counter app and the reference server both compute points with this package, so a sale earns the same points
wherever it is priced.

    programme = load_programme("resources/programme/demo.toml")      # or programme_from_dict(json_from_server)
    preview = preview_earning(programme, sale, member, EarnContext(visited_today=False, points_earned_today=0))
    status = tier_status(programme, member, today)
    quote = quote_reward(programme, "CUT10", bill_total, member, redeemed_count_for_member=0, today=today)
    payment = quote_points_payment(programme, points_available, bill_total, requested_amount=Money.parse("5"))
    check = check_tenders(total, [Tender("cash", ...), Tender("card", ...)])
    reversal = reverse_sale(effects, Refund.full_void(), Balances(points, stored_value))

How earning rules combine is written down in `earning.py`; refund rounding in `reversal.py`; redemption rounding in
`spending.py`; tier windows in `tiers.py`; the file format in `loader.py`.
"""

from frontdesk.domain.programme.arithmetic import largest_remainder, round_points
from frontdesk.domain.programme.earning import EarnLine, EarnPreview, preview_earning
from frontdesk.domain.programme.errors import ProgrammeError, ReversalError, SaleError
from frontdesk.domain.programme.inputs import (
    ActivityEntry,
    EarnContext,
    MemberStanding,
    SaleDraft,
    SaleLine,
    validate_sale,
)
from frontdesk.domain.programme.loader import (
    SCHEMA_VERSION,
    load_programme,
    programme_from_dict,
    programme_from_json,
    programme_from_toml,
    programme_to_dict,
    programme_to_json,
)
from frontdesk.domain.programme.model import (
    Conditions,
    EarningSettings,
    EarnRule,
    PointsPaymentSettings,
    Programme,
    Promotion,
    Reward,
    RewardKind,
    Rounding,
    RoundingScope,
    RuleKind,
    StoredValueSettings,
    Tier,
    TierBasis,
    TierSettings,
)
from frontdesk.domain.programme.reversal import (
    Balances,
    Refund,
    Reversal,
    SaleEffects,
    reverse_sale,
)
from frontdesk.domain.programme.spending import (
    IssuedVoucher,
    PointsPaymentQuote,
    RedemptionRefused,
    RefusalCode,
    RewardQuote,
    StoredValueQuote,
    points_needed,
    points_value,
    quote_points_payment,
    quote_reward,
    quote_stored_value_payment,
    quote_voucher,
)
from frontdesk.domain.programme.tenders import (
    Tender,
    TenderCheck,
    allocate,
    check_tenders,
    split_evenly,
)
from frontdesk.domain.programme.tiers import DowngradeWarning, TierStatus, tier_status

__all__ = [
    "SCHEMA_VERSION",
    "ActivityEntry",
    "Balances",
    "Conditions",
    "DowngradeWarning",
    "EarnContext",
    "EarnLine",
    "EarnPreview",
    "EarnRule",
    "EarningSettings",
    "IssuedVoucher",
    "MemberStanding",
    "PointsPaymentQuote",
    "PointsPaymentSettings",
    "Programme",
    "ProgrammeError",
    "Promotion",
    "RedemptionRefused",
    "RefusalCode",
    "Refund",
    "Reversal",
    "ReversalError",
    "Reward",
    "RewardKind",
    "RewardQuote",
    "Rounding",
    "RoundingScope",
    "RuleKind",
    "SaleDraft",
    "SaleEffects",
    "SaleError",
    "SaleLine",
    "StoredValueQuote",
    "StoredValueSettings",
    "Tender",
    "TenderCheck",
    "Tier",
    "TierBasis",
    "TierSettings",
    "TierStatus",
    "allocate",
    "check_tenders",
    "largest_remainder",
    "load_programme",
    "points_needed",
    "points_value",
    "preview_earning",
    "programme_from_dict",
    "programme_from_json",
    "programme_from_toml",
    "programme_to_dict",
    "programme_to_json",
    "quote_points_payment",
    "quote_reward",
    "quote_stored_value_payment",
    "quote_voucher",
    "reverse_sale",
    "round_points",
    "split_evenly",
    "tier_status",
    "validate_sale",
]

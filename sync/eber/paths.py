"""Endpoint names and their paths relative to the API base URL (each can be overridden in `[api_paths]`)."""
from __future__ import annotations

DEFAULT_BASE_URL = "https://api.eber.co/v3/public"

# Endpoint name -> path relative to the base URL. The public material disagrees on some names (issue_point vs
# issue_points), so every one of them can be overridden in the configuration.
DEFAULT_PATHS: dict[str, str] = {
    "issue_point": "integration/issue_point",
    "redeem": "integration/redeem",
    "user_show": "integration/user/show",
    "point_transactions": "integration/point_transaction",
    "void_transaction": "integration/point_transaction/void",
    "void_used_reward": "integration/used_issued_reward/void",
    "user_create": "integration/user/create",
    "user": "user/{id}",
    "list_users": "business/list/user",
    "point_adjust": "point/adjust",
    "programme": "integration/program",  # our extension (section 7); absent on the real API
    "probe": "business/list/user",
}

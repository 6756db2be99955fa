"""Sync with the central loyalty API: the HTTP client, the wire format, the outbox worker, pulls and status.

- `eber/`: the API's language (endpoint paths, form bodies built from the database at send time, the success
  shape of each answer). `client`: HTTP, bounded in time and size, every failure a typed error (`errors`).
- `outbox`: delivery, exactly once on the documented contract (in doubt, strict natural keys, one drainer,
  narrow holds); it reports outcomes, and `frontdesk.sales.outcomes` applies what they mean to the sale, ledger,
  vouchers and member. `pull`: programme and member feed. `engine`: the loop; `status`; `cli`.

Qt-free and GUI-free: `frontdesk.ui.sync_status` adapts `SyncEngine` to Qt. May import `frontdesk.store`,
`frontdesk.domain` and the feature packages (`frontdesk.sales` for outcomes); never `frontdesk.ui`,
`frontdesk.app` or `devtools` (tests/architecture/test_import_rules.py).
"""

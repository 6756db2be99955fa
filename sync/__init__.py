"""Sync with the central loyalty API: the HTTP client, the outbox worker, pulls, the engine loop and its status.

Qt-free and GUI-free: `frontdesk.ui.sync_status` adapts `SyncEngine` to Qt. May import `frontdesk.domain`,
`frontdesk.store`, `frontdesk.config`, `frontdesk.secrets` and `frontdesk.logs`; never `frontdesk.ui`,
`frontdesk.app` or `devtools` (the reference server lives in `devtools/loyalty_server`).
"""

"""Sync with the central loyalty API: the HTTP client, the outbox worker, pulls, status, and a reference server.

Qt-free and GUI-free: `frontdesk.ui.sync_status` adapts `SyncEngine` to Qt. Nothing here imports `frontdesk.ui`.
"""

"""The reference server for `frontdesk --demo`: in-process, on a free 127.0.0.1 port, seeded like the demo counter."""
from __future__ import annotations

import secrets as token_source
from collections.abc import Callable
from pathlib import Path

from devtools.loyalty_server.server import ReferenceServer, ServerConfig


def start_demo_server(db_path: str | Path, *, members: int = 300, seed: int = 7,
                      host: str = "127.0.0.1") -> tuple[str, str, Callable[[], None]]:
    """(API base URL, API key, stop). Same members and seed as the demo counter database."""
    api_key = token_source.token_urlsafe(24)
    server = ReferenceServer(ServerConfig(db_path=str(db_path), api_key=api_key, members=members, seed=seed),
                             host=host, port=0)
    url = server.start()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            server.stop()

    return url, api_key, stop

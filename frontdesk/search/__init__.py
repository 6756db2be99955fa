"""Instant member search over the local cache (Qt-free).

May import `frontdesk.domain` and `frontdesk.store`; never Qt, HTTP or anything above them.
"""
from frontdesk.search.service import SearchResult, SearchService

__all__ = ["SearchResult", "SearchService"]

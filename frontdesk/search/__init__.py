"""Instant member search over the local cache (Qt-free)."""
from frontdesk.search.service import SearchResult, SearchService

__all__ = ["SearchResult", "SearchService"]

"""Scanner test fixtures: corpus frames built once per session."""
from __future__ import annotations

import pytest

from devtools.scan_corpus import CorpusFrame, iter_corpus


@pytest.fixture(scope="session")
def corpus_frames() -> list[CorpusFrame]:
    """6 frames per category (66 in all): enough to compare decoders per category, quick to build."""
    return list(iter_corpus(6, seed=11))


@pytest.fixture(scope="session")
def card_key() -> bytes:
    return b"test-card-key"

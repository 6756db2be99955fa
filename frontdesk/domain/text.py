"""Text folding for search: case-, accent- and width-insensitive, control characters removed."""
from __future__ import annotations

import unicodedata

MAX_QUERY_LENGTH = 200


def strip_controls(text: str) -> str:
    """Drop control and format characters (NUL, escape sequences, zero-width joiners) a scanner or paste can carry."""
    if text.isprintable():  # no control or format character at all: the common case, kept cheap for search
        return text
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in " ")


def fold(text: str) -> str:
    """Lower-case, accent-free, NFKC-width-normalised form used for names and search keys.

    "Zoë Ng", "ZOE NG" and "Ｚｏｅ Ｎｇ" all fold to "zoe ng".
    """
    text = unicodedata.normalize("NFKC", text or "")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def name_tokens(text: str) -> list[str]:
    """Words of a name for search: folded, split on anything that is not a letter or digit."""
    folded = fold(text)
    tokens: list[str] = []
    word: list[str] = []
    for ch in folded:
        if ch.isalnum():
            word.append(ch)
        elif word:
            tokens.append("".join(word))
            word = []
    if word:
        tokens.append("".join(word))
    return tokens

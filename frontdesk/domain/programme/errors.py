"""Errors that name the offending field, so a person can find and fix it.

`field` is a path in the same notation everywhere: ``earning.rules[2].multiplier`` for a programme file,
``lines[1].quantity`` for a sale draft. `reason` is a plain-language sentence fragment ("must be a positive number").
"""

from __future__ import annotations


class _FieldError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)


class ProgrammeError(_FieldError):
    """A programme file (TOML, JSON or dict) that does not follow the schema."""


class SaleError(_FieldError):
    """A sale draft the engine cannot price: wrong currency, negative amounts, naive time, no lines."""


class ReversalError(_FieldError):
    """A refund that cannot apply: more than is left of the sale, a negative amount, a different currency."""

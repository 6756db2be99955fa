"""Points changed by hand: a manager's goodwill or correction for one member, queued and synced like any effect.

Qt-free; may import frontdesk.domain, frontdesk.store and frontdesk.services (the staff PIN check).
"""
from frontdesk.points.adjustments import ADJUSTMENT_REASONS, AdjustmentRefused, AdjustmentResult, PointAdjustments

__all__ = ["ADJUSTMENT_REASONS", "AdjustmentRefused", "AdjustmentResult", "PointAdjustments"]

"""Time as the database stores it: naive UTC. Every service's injectable ``now`` passes through
``as_utc`` first, so a caller may give an aware datetime in any zone (or a naive UTC one)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from core.models import utcnow

__all__ = ["as_utc", "utcnow"]


def as_utc(now: Optional[dt.datetime]) -> dt.datetime:
    """``now`` as naive UTC: None is the current time; an aware time is converted to UTC and
    its tzinfo dropped; a naive time is taken to be UTC already and returned unchanged."""
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        return now
    offset = now.utcoffset()
    return (now - offset if offset is not None else now).replace(tzinfo=None)

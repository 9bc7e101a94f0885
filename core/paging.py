"""Keyset pagination: every long table is read a page at a time from a cursor, never with OFFSET.

A ``Keyset`` names the order a table is paged in (its columns, the last one unique, e.g.
``(created_at, id)``) and builds the two SQL pieces a page needs: ``order_by()`` and
``after(cursor)``, "strictly after this row". A cursor is the tuple of the last row's values in
those columns; ``Page.next_cursor`` hands it to the next call (None on the last page). Page 1,000
costs what page 2 costs: one index range from the cursor on.

Used by Personas (newest first), the message log (newest first), the Audiences preview (id order)
and the Member Club report (longest waiting first, a pending row without a time first); the
exports read whole tables the same way, a batch at a time (``keyset_rows``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

from sqlalchemy import and_, or_, tuple_
from sqlalchemy.sql.elements import ColumnElement

PAGE_SIZE = 50  # rows on one page of any table
MAX_LIMIT = 500  # the most rows one page may ask for

Cursor = tuple  # the last row's values in the keyset's columns


def clamp(limit: Any) -> int:
    """A page size between 1 and MAX_LIMIT."""
    return max(1, min(int(limit), MAX_LIMIT))


@dataclass(frozen=True, eq=False)
class Keyset:
    """The order a table is paged in: `columns` (the last one unique), all ascending or all descending.

    `nulls_first`: the lead column may be NULL and NULLs come first (ascending, two columns)."""

    columns: Sequence[Any]
    descending: bool = False
    nulls_first: bool = False

    def order_by(self) -> list:
        if self.descending:
            return [c.desc() for c in self.columns]
        if self.nulls_first:
            lead, *rest = self.columns
            return [lead.asc().nulls_first(), *rest]
        return list(self.columns)

    def after(self, cursor: Cursor) -> ColumnElement:
        """Rows strictly after the row whose values in `columns` are `cursor`."""
        values = tuple(cursor)
        if len(values) != len(self.columns):
            raise ValueError(f"a cursor of {len(self.columns)} values was expected, got {values!r}")
        if self.nulls_first:
            (lead, tie), (t, i) = self.columns, values
            if t is None:
                return or_(and_(lead.is_(None), tie > i), lead.is_not(None))
            return or_(lead > t, and_(lead == t, tie > i))
        if len(values) == 1:
            column = self.columns[0]
            return column < values[0] if self.descending else column > values[0]
        left, right = tuple_(*self.columns), tuple_(*values)
        return left < right if self.descending else left > right

    def cursor(self, row: Any) -> Cursor:
        """The cursor of a row (an ORM object, a result Row or a dict with the columns' keys)."""
        if isinstance(row, Mapping):
            return tuple(row[c.key] for c in self.columns)
        return tuple(getattr(row, c.key) for c in self.columns)


@dataclass
class Page:
    rows: list
    next_cursor: Optional[Cursor]  # pass as `after` for the next page; None on the last page
    total: Optional[int] = None  # how many rows in all, when the table counts them
    hint: str = ""  # why nothing can match (a search too short to run)

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


def page_of(
    rows: Sequence[Any],
    *,
    limit: int,
    keyset: Keyset,
    shape: Optional[Callable[[Any], Any]] = None,
    total: Optional[int] = None,
    hint: str = "",
) -> Page:
    """A Page from the rows of a query run with LIMIT limit + 1 (the extra row says there is more).

    `shape` turns each row into what the page shows, after the cursor is taken from the raw row."""
    more = len(rows) > limit
    rows = list(rows[:limit])
    cursor = keyset.cursor(rows[-1]) if more and rows else None
    return Page(rows=[shape(r) for r in rows] if shape else rows, next_cursor=cursor, total=total, hint=hint)


def keyset_rows(session, query, keyset: Keyset, *, batch: int = 2000) -> Iterator[Any]:
    """Every row of `query` in the keyset's order, fetched `batch` at a time (memory stays bounded)."""
    cursor: Optional[Cursor] = None
    while True:
        q = query if cursor is None else query.where(keyset.after(cursor))
        rows = session.execute(q.order_by(*keyset.order_by()).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        cursor = keyset.cursor(rows[-1])


__all__ = ["PAGE_SIZE", "MAX_LIMIT", "Cursor", "clamp", "Keyset", "Page", "page_of", "keyset_rows"]

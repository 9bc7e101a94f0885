"""Keyset pages: walking a table page by page (or batch by batch) gives every row once, in order,
whatever the ties and NULLs in the order's columns — on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from sqlalchemy import select

from core import paging
from core.models import Customer
from tests.factories import make_customer

C = Customer.__table__.c
T = dt.datetime(2026, 11, 1, 18, 0)


@pytest.fixture
def rows(session):
    """9 customers: created at 3 instants (ties), 3 of them with no status time (NULLs)."""
    for i in range(9):
        c = make_customer(session, first_name=f"C{i}", now=T + dt.timedelta(hours=i % 3), commit=False)
        c.status_changed_at = None if i % 4 == 0 else T - dt.timedelta(days=i % 2)
        session.add(c)
    session.commit()
    return session.execute(select(C.id, C.created_at, C.status_changed_at)).all()


ORDERS = {
    "id": (paging.Keyset((C.id,)), lambda r: r.id),
    "newest first": (
        paging.Keyset((C.created_at, C.id), descending=True),
        lambda r: (-r.created_at.timestamp(), -r.id),
    ),
    "waiting longest, no time first": (
        paging.Keyset((C.status_changed_at, C.id), nulls_first=True),
        lambda r: (r.status_changed_at is not None, r.status_changed_at or T, r.id),
    ),
}


def walk(session, keyset, limit):
    pages, cursor = [], None
    while True:
        q = select(C.id, C.created_at, C.status_changed_at)
        if cursor is not None:
            q = q.where(keyset.after(cursor))
        page = paging.page_of(
            session.execute(q.order_by(*keyset.order_by()).limit(limit + 1)).all(),
            limit=limit,
            keyset=keyset,
            shape=lambda r: r.id,
        )
        pages.append(page.rows)
        assert page.has_more == (page.next_cursor is not None)
        if not page.has_more:
            return pages
        cursor = page.next_cursor


@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("limit", [1, 2, 4, 9, 50])
def test_pages_give_every_row_once_in_order(session, rows, order, limit):
    keyset, sort_key = ORDERS[order]
    expected = [r.id for r in sorted(rows, key=sort_key)]
    pages = walk(session, keyset, limit)
    assert [i for p in pages for i in p] == expected
    assert all(len(p) == limit for p in pages[:-1]) and 0 < len(pages[-1]) <= limit


@pytest.mark.parametrize("order", list(ORDERS))
def test_batches_give_every_row_once_in_order(session, rows, order):
    keyset, sort_key = ORDERS[order]
    got = [r.id for r in paging.keyset_rows(session, select(C.id, C.created_at, C.status_changed_at), keyset, batch=2)]
    assert got == [r.id for r in sorted(rows, key=sort_key)]


def test_a_page_size_is_kept_between_1_and_500():
    assert [paging.clamp(n) for n in (0, -3, 1, 50, "70", 10_000)] == [1, 1, 1, 50, 70, 500]


def test_a_cursor_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="2 values"):
        ORDERS["newest first"][0].after((1,))

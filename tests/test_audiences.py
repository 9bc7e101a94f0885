"""Audiences: every trait and operator against a small shop whose answers are worked out by hand.

The shop (times UTC; the shop's calendar is America/Los_Angeles, the default):

| who | status (since)            | source              | email | birthday   | zip   | created    |
|-----|---------------------------|---------------------|-------|------------|-------|------------|
| Ann | opted_in (2026-01-10)     | sign-up form "main" | yes   | 1990-05-10 | 94110 | 2026-01-10 |
| Ben | opted_in (2026-03-05)     | POS "Dutchie"       | no    | 1985-12-01 | 94103 | 2026-03-05 |
| Cat | pending (2026-11-10)      | Text To Join        | yes   | —          | —     | 2026-11-10 |
| Dan | pending (2026-11-28)      | POS "Treez"         | yes   | 1992-05-30 | 10001 | 2026-11-28 |
| Eve | opted_out (2025-12-31)    | CSV import old.csv  | no    | 2000-02-29 | 94110 | 2025-12-31 |
| Fay | not_opted_in              | dashboard           | yes   | —          | 94107 | 2026-06-15 |
| Gus | not_opted_in              | texted the shop     | no    | —          | —     | 2026-06-15 |
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlmodel import select

from core import paging
from core.audiences import conditions as aud_conditions
from core.audiences import export as aud_export
from core.audiences import query as aud_query
from core.audiences import saved as aud_saved
from core.models import PosSource, SavedAudience, SmsStatus, Source
from tests.factories import make_customer

NOW = dt.datetime(2026, 11, 30, 19, 0)


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=18)  # 10:00 in Los Angeles: the same calendar day


@pytest.fixture
def shop(session):
    rows = [
        (
            "Ann",
            SmsStatus.opted_in,
            Source.signup_form,
            "main",
            "ann@example.com",
            dt.date(1990, 5, 10),
            "94110",
            "2026-01-10",
        ),
        ("Ben", SmsStatus.opted_in, Source.pos_sync, "Dutchie", "", dt.date(1985, 12, 1), "94103", "2026-03-05"),
        ("Cat", SmsStatus.pending, Source.text_to_join, "", "cat@example.com", None, "", "2026-11-10"),
        (
            "Dan",
            SmsStatus.pending,
            Source.pos_sync,
            "Treez",
            "dan@example.com",
            dt.date(1992, 5, 30),
            "10001",
            "2026-11-28",
        ),
        ("Eve", SmsStatus.opted_out, Source.csv_import, "old.csv", "", dt.date(2000, 2, 29), "94110", "2025-12-31"),
        ("Fay", SmsStatus.not_opted_in, Source.dashboard, "", "fay@example.com", None, "94107", "2026-06-15"),
        ("Gus", SmsStatus.not_opted_in, Source.inbound_sms, "", "", None, "", "2026-06-15"),
    ]
    people = {}
    for name, status, source, detail, email, birthday, zip_code, created in rows:
        people[name] = make_customer(
            session,
            status=status,
            first_name=name,
            last_name="Test",
            email=email,
            source=source,
            source_detail=detail,
            birthday=birthday,
            zip=zip_code,
            now=at(created),
        )
    session.add(PosSource(name="Dutchie"))
    session.add(PosSource(name="Treez"))
    session.commit()
    return people


def names(session, conditions) -> list[str]:
    return [r["first_name"] for r in aud_query.page(session, conditions, now=NOW).rows]


def cond(trait, op, value=None):
    return {"trait": trait, "op": op, "value": value}


CASES = [
    # (conditions, expected names) — each worked out from the table above
    ([cond("opt_in_status", "is true")], ["Ann", "Ben"]),
    ([cond("opt_in_status", "is false")], ["Cat", "Dan", "Eve", "Fay", "Gus"]),
    ([cond("Performed Event / Opt-in status", "is true")], ["Ann", "Ben"]),  # the help article's words
    ([cond("sms_status", "is one of", ["pending", "opted_out"])], ["Cat", "Dan", "Eve"]),
    ([cond("sms_status", "is one of", ["not_opted_in"])], ["Fay", "Gus"]),
    ([cond("source", "is one of", ["signup_form"])], ["Ann"]),
    ([cond("source", "is one of", ["pos_sync"])], ["Ben", "Dan"]),
    ([cond("source", "is one of", ["pos:Dutchie"])], ["Ben"]),
    ([cond("source", "is one of", ["pos:Dutchie", "text_to_join"])], ["Ben", "Cat"]),
    ([cond("source", "is one of", ["pos_sync", "pos:Dutchie"])], ["Ben", "Dan"]),
    ([cond("source", "is one of", ["csv_import", "dashboard"])], ["Eve", "Fay"]),
    ([cond("source", "is one of", ["inbound_sms"])], ["Gus"]),
    ([cond("created", "before", "2026-03-05")], ["Ann", "Eve"]),
    ([cond("created", "after", "2026-06-15")], ["Cat", "Dan"]),
    ([cond("created", "between", ["2026-03-05", "2026-06-15"])], ["Ben", "Fay", "Gus"]),
    ([cond("created", "between", ["2026-06-15", "2026-06-15"])], ["Fay", "Gus"]),
    ([cond("has_phone", "is true")], ["Ann", "Ben", "Cat", "Dan", "Eve", "Fay", "Gus"]),
    ([cond("has_phone", "is false")], []),
    ([cond("has_email", "is true")], ["Ann", "Cat", "Dan", "Fay"]),
    ([cond("has_email", "is false")], ["Ben", "Eve", "Gus"]),
    ([cond("birthday_month", "is", 5)], ["Ann", "Dan"]),
    ([cond("birthday_month", "is one of", [2, 12])], ["Ben", "Eve"]),
    ([cond("birthday_month", "is", 7)], []),
    ([cond("zip", "is", "94110")], ["Ann", "Eve"]),
    ([cond("zip", "starts with", "941")], ["Ann", "Ben", "Eve", "Fay"]),
    ([cond("zip", "starts with", "1")], ["Dan"]),
    ([cond("zip", "starts with", "94109")], []),
    ([cond("last_consent_change", "before", "2026-03-05")], ["Ann", "Eve"]),
    ([cond("last_consent_change", "after", "2026-11-10")], ["Dan"]),
    ([cond("pending_for", "more than", 7)], ["Cat"]),
    ([cond("pending_for", "more than", 0)], ["Cat", "Dan"]),
    ([cond("pending_for", "more than", 30)], []),
    ([], ["Ann", "Ben", "Cat", "Dan", "Eve", "Fay", "Gus"]),
    # AND
    ([cond("opt_in_status", "is true"), cond("zip", "starts with", "941")], ["Ann", "Ben"]),
    ([cond("has_email", "is true"), cond("birthday_month", "is", 5)], ["Ann", "Dan"]),
    ([cond("opt_in_status", "is false"), cond("source", "is one of", ["pos_sync"])], ["Dan"]),
    # contradictions match nobody, without an error
    ([cond("opt_in_status", "is true"), cond("sms_status", "is one of", ["pending"])], []),
    ([cond("opt_in_status", "is true"), cond("opt_in_status", "is false")], []),
    ([cond("created", "before", "2026-01-01"), cond("created", "after", "2026-01-01")], []),
]


@pytest.mark.parametrize("conditions,expected", CASES, ids=[aud_conditions.describe(c) for c, _ in CASES])
def test_each_trait_and_operator_finds_the_customers_worked_out_by_hand(session, shop, conditions, expected):
    assert aud_query.count(session, conditions, now=NOW) == len(expected)
    assert names(session, conditions) == expected


def test_every_trait_and_operator_is_covered_by_a_worked_example():
    used = {(aud_conditions.trait(c["trait"]).key, c["op"]) for conds, _ in CASES for c in conds}
    every = {(t.key, op) for t in aud_conditions.TRAITS.values() for op in t.ops}
    assert every <= used


def test_created_dates_follow_the_shops_calendar_not_utc(session):
    # 06:00 UTC on 1 July is 23:00 on 30 June in Los Angeles
    make_customer(session, first_name="Late", now=dt.datetime(2026, 7, 1, 6, 0))
    on_30 = [cond("created", "between", ["2026-06-30", "2026-06-30"])]
    assert aud_query.count(session, on_30, now=NOW) == 1
    assert aud_query.count(session, [cond("created", "after", "2026-06-30")], now=NOW) == 0


def test_the_count_is_one_sql_query(session, shop):
    statements = []
    from sqlalchemy import event

    engine = session.get_bind()

    def log(conn, cursor, statement, *args):
        statements.append(statement)

    aud_query.count(session, [], now=NOW)  # texting defaults loaded and cached in the session
    event.listen(engine, "before_cursor_execute", log)
    try:
        aud_query.count(
            session,
            [
                cond("opt_in_status", "is true"),
                cond("zip", "starts with", "941"),
                cond("birthday_month", "is one of", [5, 12]),
            ],
            now=NOW,
        )
    finally:
        event.remove(engine, "before_cursor_execute", log)
    assert len([s for s in statements if "customer" in s]) == 1


def test_pages_are_fifty_rows_in_id_order_with_a_keyset_cursor(session, shop):
    first = aud_query.page(session, [], limit=3, now=NOW)
    assert [r["first_name"] for r in first.rows] == ["Ann", "Ben", "Cat"]
    second = aud_query.page(session, [], after=first.next_cursor, limit=3, now=NOW)
    assert [r["first_name"] for r in second.rows] == ["Dan", "Eve", "Fay"]
    last = aud_query.page(session, [], after=second.next_cursor, limit=3, now=NOW)
    assert [r["first_name"] for r in last.rows] == ["Gus"]
    assert last.next_cursor is None
    assert paging.PAGE_SIZE == 50


def test_preview_rows_read_as_the_owner_expects(session, shop):
    rows = aud_query.display_rows(
        aud_query.page(session, [cond("source", "is one of", ["pos:Dutchie"])]).rows, "US", "America/Los_Angeles"
    )
    assert rows == [
        {
            "Name": "Ben Test",
            "Phone": rows[0]["Phone"],
            "Email": "",
            "SMS": "✓ opted in",
            "Source": "POS sync · Dutchie",
            "Zip": "94103",
            "Birthday": "1985-12-01",
            "Created": "5 Mar 2026",
        }
    ]  # the shop's day, as every page writes a day
    assert rows[0]["Phone"].startswith("(415)")


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "conditions,row,words",
    [
        ([cond("opt_in_status", "is true"), cond("shoe size", "is", 9)], 2, "no trait called “shoe size”"),
        ([cond("zip", "between", ["1", "2"])], 1, "can't use “between”"),
        ([cond("created", "before", "31/12/2026")], 1, "not a date"),
        ([cond("created", "between", ["2026-05-01", "2026-04-01"])], 1, "ends"),
        ([cond("created", "between", "2026-05-01")], 1, "two dates"),
        ([cond("birthday_month", "is", 13)], 1, "from 1 to 12"),
        ([cond("birthday_month", "is", "May")], 1, "from 1 to 12"),
        ([cond("sms_status", "is one of", [])], 1, "at least one"),
        ([cond("sms_status", "is one of", ["subscribed"])], 1, "not an SMS status"),
        ([cond("source", "is one of", ["myspace"])], 1, "not a source"),
        ([cond("source", "is one of", ["pos:"])], 1, "Name the POS source"),
        ([cond("zip", "starts with", "94%")], 1, "not a zip code"),
        ([cond("zip", "is", "  ")], 1, "Type a zip code"),
        ([cond("pending_for", "more than", -1)], 1, "whole number"),
        ([cond("pending_for", "more than", 2.5)], 1, "whole number"),
        (["opt-in"], 1, "needs a trait"),
    ],
)
def test_an_unknown_trait_or_a_bad_value_is_a_named_error_naming_the_row(session, conditions, row, words):
    with pytest.raises(aud_conditions.InvalidCondition) as err:
        aud_query.count(session, conditions, now=NOW)
    assert err.value.row == row
    assert words in str(err.value)
    assert str(err.value).startswith(f"Condition {row}:")


def test_an_unknown_trait_is_its_own_error(session):
    with pytest.raises(aud_conditions.UnknownTrait):
        aud_conditions.normalize([cond("favourite colour", "is", "green")])


def test_conditions_clean_up_to_plain_json(session):
    conds = aud_conditions.normalize(
        [
            {"trait": "Created", "op": "Between", "value": [dt.date(2026, 1, 1), "2026-02-01"]},
            {"trait": "zip", "op": "starts with", "value": " 941 "},
            {"trait": "birthday_month", "op": "is one of", "value": ["12", 3, 3]},
            {"trait": "pending_for", "op": "more than", "value": "7"},
        ]
    )
    assert conds == [
        {"trait": "created", "op": "between", "value": ["2026-01-01", "2026-02-01"]},
        {"trait": "zip", "op": "starts with", "value": "941"},
        {"trait": "birthday_month", "op": "is one of", "value": [3, 12]},
        {"trait": "pending_for", "op": "more than", "value": 7},
    ]


def test_a_new_row_for_every_trait_is_valid_as_it_starts(session, shop):
    for key in aud_conditions.TRAITS:
        blank = aud_conditions.blank_condition(key)
        if key == "zip":  # the one row that starts empty: the owner types the zip
            with pytest.raises(aud_conditions.InvalidCondition, match="Type a zip code"):
                aud_conditions.normalize([blank])
            blank["value"] = "94110"
        assert aud_conditions.normalize([blank]) == [blank], key
        assert 0 <= aud_query.count(session, [blank], now=NOW) <= 7, key


def test_describe_reads_like_the_help_article():
    assert aud_conditions.describe([cond("opt_in_status", "is true")]) == "Performed Event / Opt-in status is true"
    assert aud_conditions.describe(
        [cond("pending_for", "more than", 7), cond("source", "is one of", ["pos:Dutchie", "signup_form"])]
    ) == ("Pending for more than 7 days AND Source is one of POS: Dutchie, Sign-up form")
    assert aud_conditions.describe([]) == "Everyone"


# --- export -----------------------------------------------------------------------------------


def _read_csv(chunks) -> list[list[str]]:
    data = b"".join(chunks)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheets read accents
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_export_neutralises_formulas_and_keeps_phones_as_e164_text(session):
    c = make_customer(
        session,
        first_name='=HYPERLINK("http://x")',
        last_name="+SUM(A1)",
        email="=cmd@evil.com",
        zip="-123",
        source=Source.csv_import,
        source_detail="@list.csv",
    )
    make_customer(session, first_name="José", last_name="-")
    rows = _read_csv(aud_export.export_csv(session, [], now=NOW))
    assert rows[0] == list(aud_export.EXPORT_HEADER)
    first = dict(zip(rows[0], rows[1]))
    assert first["phone"] == f"tel:{c.phone}" and first["phone"].startswith("tel:+1415")
    assert first["first_name"] == '\'=HYPERLINK("http://x")'
    assert first["last_name"] == "'+SUM(A1)"
    assert first["email"] == "'=cmd@evil.com"
    assert first["zip"] == "'-123"
    assert first["source_detail"] == "'@list.csv"
    second = dict(zip(rows[0], rows[2]))
    assert second["first_name"] == "José" and second["last_name"] == "'-"


def test_export_streams_every_matching_row_once_in_batches(session, shop):
    chunks = list(aud_export.export_csv(session, [cond("opt_in_status", "is false")], now=NOW, batch=2))
    rows = _read_csv(chunks)[1:]
    assert [r[1] for r in rows] == ["Cat", "Dan", "Eve", "Fay", "Gus"]


def test_an_empty_audience_exports_just_the_header(session):
    rows = _read_csv(aud_export.export_csv(session, [cond("has_phone", "is false")], now=NOW))
    assert rows == [list(aud_export.EXPORT_HEADER)]


# --- saved audiences --------------------------------------------------------------------------


def test_an_audience_saves_reloads_edits_and_deletes(session, shop):
    saved = aud_saved.save(session, name="  Opted-in  fans ", conditions=[cond("opt_in_status", "is true")])
    assert saved.name == "Opted-in fans"
    again = aud_saved.get_saved(session, saved.id)
    assert aud_saved.load_conditions(again) == [{"trait": "opt_in_status", "op": "is true", "value": None}]
    assert aud_query.count(session, again.conditions, now=NOW) == 2

    aud_saved.save(
        session,
        name="Opted-in fans",
        audience_id=saved.id,
        conditions=[cond("opt_in_status", "is true"), cond("zip", "is", "94110")],
    )
    assert aud_query.count(session, aud_saved.get_saved(session, saved.id).conditions, now=NOW) == 1
    assert [a.name for a in aud_saved.list_saved(session)] == ["Opted-in fans"]

    assert aud_saved.delete_saved(session, saved.id) == "Opted-in fans"
    assert aud_saved.list_saved(session) == []
    with pytest.raises(aud_saved.AudienceNotFound):
        aud_saved.get_saved(session, saved.id)


def test_names_must_be_given_and_unique(session):
    aud_saved.save(session, name="VIPs", conditions=[])
    with pytest.raises(aud_saved.InvalidAudienceName, match="already exists"):
        aud_saved.save(session, name="vips", conditions=[])
    with pytest.raises(aud_saved.InvalidAudienceName, match="name"):
        aud_saved.save(session, name="   ", conditions=[])
    with pytest.raises(aud_saved.InvalidAudienceName, match="100"):
        aud_saved.save(session, name="x" * 101, conditions=[])
    assert len(aud_saved.list_saved(session)) == 1


def test_bad_conditions_save_nothing(session):
    with pytest.raises(aud_conditions.InvalidCondition):
        aud_saved.save(session, name="Broken", conditions=[cond("birthday_month", "is", 99)])
    assert session.exec(select(SavedAudience)).all() == []


def test_an_audience_whose_pos_source_was_deleted_says_so_and_loses_nothing(session, shop):
    saved = aud_saved.save(session, name="Dutchie people", conditions=[cond("source", "is one of", ["pos:Dutchie"])])
    assert aud_saved.problems(session, saved.conditions) == []
    dutchie = session.exec(select(PosSource).where(PosSource.name == "Dutchie")).one()
    session.delete(dutchie)
    session.commit()

    reloaded = aud_saved.get_saved(session, saved.id)
    [warning] = aud_saved.problems(session, reloaded.conditions)
    assert "“Dutchie” has been deleted" in warning and "Condition 1" in warning
    assert reloaded.conditions == [{"trait": "source", "op": "is one of", "value": ["pos:Dutchie"]}]
    # the customers it synced still match: nothing lost
    assert aud_query.count(session, reloaded.conditions, now=NOW) == 1
    assert "pos:Dutchie" not in aud_conditions.source_options(session)
    assert "pos:Treez" in aud_conditions.source_options(session)


def test_on_sqlite_the_narrowest_condition_leads_the_query(sqlite_session):
    """SQLite has no statistics: without help it could walk a third of the customers through the
    source index to find a few zips. The narrow condition's index is used and the broad ones only
    filter; with an SMS status, the audience index answers everything without reading the table."""
    from sqlalchemy import func as f
    from sqlalchemy import select as s

    from core.models import Customer

    def plan(conditions):
        q = s(f.count()).select_from(Customer.__table__).where(aud_query.where(conditions, tz="UTC", now=NOW))
        sql = str(q.compile(sqlite_session.get_bind(), compile_kwargs={"literal_binds": True}))
        return " ".join(r[3] for r in sqlite_session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql))

    assert "ix_customer_zip" in plan([cond("source", "is one of", ["signup_form"]), cond("zip", "starts with", "941")])
    assert "ix_customer_birthday_month" in plan([cond("has_email", "is true"), cond("birthday_month", "is", 5)])
    assert "ix_customer_created_id" in plan(
        [cond("has_email", "is true"), cond("created", "between", ["2026-01-01", "2026-01-31"])]
    )
    both = plan([cond("opt_in_status", "is true"), cond("has_email", "is true")])
    assert "COVERING INDEX ix_customer_audience" in both
    assert "(sms_status=?)" in plan([cond("opt_in_status", "is true")])  # alone: a status index

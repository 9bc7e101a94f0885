"""Personas search, keyset pages, counts and the customer view (core/consent/personas.py)."""

import datetime as dt

import pytest

from core import paging
from core.consent import customers, personas
from core.messaging import inbox
from core.models import Customer, MessageKind, SmsStatus, Source
from tests.factories import make_customer

T0 = dt.datetime(2026, 11, 1, 18, 0)


def ids(page_or_rows):
    rows = page_or_rows.rows if isinstance(page_or_rows, paging.Page) else page_or_rows
    return [c.id for c in rows]


def all_pages(session, limit=7, **kw):
    """Walk every page with the keyset cursor; return the ids in order and the number of pages."""
    out, after, pages = [], None, 0
    while True:
        page = personas.search(session, after=after, limit=limit, **kw)
        pages += 1
        out += ids(page)
        if not page.has_more:
            assert page.next_cursor is None
            return out, pages
        assert page.next_cursor == (page.rows[-1].created_at, page.rows[-1].id)
        after = page.next_cursor


@pytest.fixture
def shop(session):
    """A handful of customers with known names, emails, phones, sources and statuses."""
    c = {}
    c["ada"] = make_customer(
        session,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        phone_number="+14158675309",
        status=SmsStatus.opted_in,
        source=Source.signup_form,
        now=T0,
    )
    c["grace"] = make_customer(
        session,
        first_name="Grace",
        last_name="Hopper",
        email="g.hopper@navy.example",
        phone_number="+14155550123",
        status=SmsStatus.pending,
        source=Source.text_to_join,
        now=T0 + dt.timedelta(hours=1),
    )
    c["alan"] = make_customer(
        session,
        first_name="Alan",
        last_name="Turing",
        email="alan@bletchley.example",
        phone_number="+16505558675",
        status=SmsStatus.opted_out,
        source=Source.pos_sync,
        now=T0 + dt.timedelta(hours=2),
    )
    c["mary"] = make_customer(
        session,
        first_name="Mary Ann",
        last_name="Evans",
        email="",
        phone_number="+442079460958",
        status=SmsStatus.not_opted_in,
        source=Source.csv_import,
        now=T0 + dt.timedelta(hours=3),
    )
    c["odd"] = make_customer(
        session,
        first_name="100%",
        last_name="Real_Name",
        email="pct@example.com",
        phone_number="+14155559999",
        now=T0 + dt.timedelta(hours=4),
    )
    return c


def test_an_empty_shop_has_one_empty_page_and_a_count_of_zero(session):
    page = personas.search(session)
    assert page.rows == [] and not page.has_more and page.next_cursor is None
    assert personas.count(session) == 0


def test_the_first_page_lists_the_newest_customers_first(session, shop):
    assert ids(personas.search(session)) == [shop[k].id for k in ("odd", "mary", "alan", "grace", "ada")]
    assert personas.count(session) == 5


@pytest.mark.parametrize(
    "query, who",
    [
        ("ada", {"ada"}),
        ("ADA", {"ada"}),
        ("  Lovelace ", {"ada"}),
        ("love", {"ada"}),
        ("Ada Lovelace", {"ada"}),
        ("ada love", {"ada"}),
        ("ada   lovelace", {"ada"}),
        ("gr", {"grace"}),
        ("hopper", {"grace"}),
        ("mary ann", {"mary"}),  # a first name with a space
        ("mary ann evans", {"mary"}),
        ("a", {"ada", "alan"}),  # first names, and Ada's email
        ("turing alan", set()),  # last name first is not a first-name-last-name match
        ("nobody", set()),
    ],
)
def test_search_finds_names_by_first_last_or_full_name_in_any_case(session, shop, query, who):
    assert set(ids(personas.search(session, query=query))) == {shop[k].id for k in who}
    assert personas.count(session, query=query) == len(who)


@pytest.mark.parametrize(
    "query, who",
    [
        ("ada@example.com", {"ada"}),
        ("ADA@EXAMPLE", {"ada"}),
        ("g.hopper", {"grace"}),
        ("g.hopper@navy.example", {"grace"}),
        ("alan@", {"alan"}),
        ("@example.com", set()),  # the start of an email, not its end
    ],
)
def test_search_finds_emails_by_their_start_in_any_case(session, shop, query, who):
    assert set(ids(personas.search(session, query=query))) == {shop[k].id for k in who}


@pytest.mark.parametrize(
    "query",
    [
        "+14158675309",
        "(415) 867-5309",
        "415-867-5309",
        "415.867.5309",
        "4158675309",
        "1 415 867 5309",
        "+1 (415) 867-5309",
        "  415 867 5309  ",
    ],
)
def test_search_finds_a_whole_phone_in_any_format(session, shop, query):
    assert ids(personas.search(session, query=query)) == [shop["ada"].id]
    assert personas.count(session, query=query) == 1


def test_an_international_number_is_found_with_its_country_code(session, shop):
    assert ids(personas.search(session, query="+44 20 7946 0958")) == [shop["mary"].id]


@pytest.mark.parametrize(
    "query, who",
    [
        ("867-5309", {"ada"}),
        ("8675309", {"ada"}),
        ("5309", {"ada"}),
        ("0123", {"grace"}),
        ("555-0123", {"grace"}),
        ("8675", {"alan"}),  # Alan's number ends in 8675; Ada's only contains it
        ("9999", {"odd"}),
        ("1234", set()),
    ],
)
def test_a_partial_phone_matches_the_end_of_phone_numbers(session, shop, query, who):
    assert set(ids(personas.search(session, query=query))) == {shop[k].id for k in who}
    assert personas.count(session, query=query) == len(who)


def test_six_or_more_digits_also_match_the_start_of_a_number(session, shop):
    assert set(ids(personas.search(session, query="415 555"))) == {shop["grace"].id, shop["odd"].id}
    assert set(ids(personas.search(session, query="650-555"))) == {shop["alan"].id}
    assert set(ids(personas.search(session, query="+44 2079"))) == {shop["mary"].id}


@pytest.mark.parametrize("query", ["53", "9", "(41)", "+1"])
def test_fewer_than_four_digits_match_nothing_and_say_why(session, shop, query):
    page = personas.search(session, query=query)
    assert page.rows == [] and "4 digits" in page.hint
    assert personas.count(session, query=query) == 0


@pytest.mark.parametrize(
    "query, who", [("100%", {"odd"}), ("%", set()), ("_", set()), ("real_", {"odd"}), ("real%", set()), ("\\", set())]
)
def test_like_wildcards_in_a_query_are_plain_characters(session, shop, query, who):
    assert set(ids(personas.search(session, query=query))) == {shop[k].id for k in who}


def test_filters_by_status_and_by_source_combine_with_the_query(session, shop):
    assert ids(personas.search(session, statuses=[SmsStatus.opted_in])) == [shop["ada"].id]
    assert set(ids(personas.search(session, statuses=["pending", "opted_out"]))) == {shop["grace"].id, shop["alan"].id}
    assert ids(personas.search(session, sources=[Source.pos_sync])) == [shop["alan"].id]
    assert set(ids(personas.search(session, sources=["signup_form", "text_to_join"]))) == {
        shop["ada"].id,
        shop["grace"].id,
    }
    assert ids(personas.search(session, query="a", statuses=[SmsStatus.opted_out])) == [shop["alan"].id]
    assert ids(personas.search(session, query="a", statuses=["opted_out"], sources=["signup_form"])) == []
    assert personas.count(session, statuses=[SmsStatus.not_opted_in]) == 2
    assert personas.count(session, query="a", sources=[Source.signup_form, Source.pos_sync]) == 2
    assert personas.count(session, statuses=[], sources=[]) == 5  # empty filters mean "any"


def test_an_unknown_status_or_source_is_refused(session, shop):
    with pytest.raises(ValueError):
        personas.search(session, statuses=["subscribed"])
    with pytest.raises(ValueError):
        personas.count(session, sources=["carrier pigeon"])


@pytest.mark.parametrize("sparse", [personas.SPARSE, 5])  # 5: filtered pages take the "many matches" plan
def test_keyset_pages_never_repeat_or_skip_a_customer_even_when_created_at_the_same_moment(
    session, monkeypatch, sparse
):
    monkeypatch.setattr(personas, "SPARSE", sparse)
    # 40 customers, created in bursts of 4 at the same instant (ties broken by id)
    made = []
    for i in range(40):
        made.append(
            make_customer(
                session,
                first_name=f"Cust{i}",
                last_name="Same",
                now=T0 + dt.timedelta(minutes=i // 4),
                status=[SmsStatus.opted_in, SmsStatus.pending][i % 2],
                commit=(i == 39),
            )
        )
    expected = [c.id for c in sorted(made, key=lambda c: (c.created_at, c.id), reverse=True)]
    for limit in (1, 3, 4, 7, 40, 50):
        got, pages = all_pages(session, limit=limit)
        assert got == expected
        assert pages == max(1, -(-40 // limit))
    got, _ = all_pages(session, limit=3, statuses=[SmsStatus.pending])
    assert got == [i for i in expected if session.get(Customer, i).sms_status is SmsStatus.pending]
    got, _ = all_pages(session, limit=6, query="same")
    assert got == expected
    assert personas.count(session, query="cust1") == 11  # Cust1, Cust10..Cust19


def test_a_customer_added_while_paging_does_not_shift_the_later_pages(session):
    made = [make_customer(session, first_name=f"P{i}", now=T0 + dt.timedelta(minutes=i)) for i in range(10)]
    first = personas.search(session, limit=4)
    make_customer(session, first_name="Newcomer", now=T0 + dt.timedelta(days=1))  # newest: before page 1
    second = personas.search(session, limit=4, after=first.next_cursor)
    assert ids(second) == [made[5].id, made[4].id, made[3].id, made[2].id]


def test_table_rows_show_plain_text_a_formatted_phone_and_the_status_badge(session, shop):
    rows = personas.table_rows(personas.search(session).rows)
    by_id = {r["id"]: r for r in rows}
    ada = by_id[shop["ada"].id]
    assert ada["phone"] == "(415) 867-5309"
    assert ada["sms"] == "✓ opted in" and ada["source"] == "Sign-up form" and ada["created"] == "1 Nov 2026"
    assert by_id[shop["alan"].id]["sms"] == "✕ opted out"
    assert by_id[shop["grace"].id]["sms"] == "✕ pending"
    assert by_id[shop["mary"].id]["sms"] == "✕ not opted in"
    assert by_id[shop["mary"].id]["phone"] == "+44 20 7946 0958"


def test_the_view_of_a_customer_who_texted_stop_has_the_sentence_ledger_thread_and_actions(session, now):
    c = make_customer(session, status=SmsStatus.opted_in, phone_number="+14158675309", now=now - dt.timedelta(days=2))
    inbox.receive(session, phone="415 867 5309", body="STOP", now=now)
    v = personas.view(session, c.id, now=now)
    assert v.status is SmsStatus.opted_out
    assert v.sentence == "Opted out by texting STOP on 30 Nov 2026, 11:00 AM PST."  # the shop's time, with its zone
    assert [e.new_status for e, _ in v.ledger] == [SmsStatus.opted_out, SmsStatus.opted_in]  # newest first
    assert v.ledger[0][1].startswith('texted "STOP"')
    assert [(m.direction.value, m.kind) for m in v.thread] == [
        ("inbound", None),
        ("outbound", MessageKind.opt_out_confirmation),
    ]
    assert v.phone_display == "(415) 867-5309"
    assert not v.can_record_opt_out and "already opted out" in v.opt_out_refusal
    assert not v.can_request_opt_in and "opted out" in v.request_refusal


def test_the_view_allows_an_opt_in_request_only_where_the_rules_do(session, now):
    fresh = make_customer(session, now=now - dt.timedelta(days=3))
    v = personas.view(session, fresh.id, now=now)
    assert v.can_request_opt_in and v.can_record_opt_out
    assert v.sentence == "Not opted in: no consent recorded yet."
    customers.request_opt_in(session, customer_id=fresh.id, now=now)
    v = personas.view(session, fresh.id, now=now)
    assert v.status is SmsStatus.pending
    assert not v.can_request_opt_in and "24 hours" in v.request_refusal
    later = personas.view(session, fresh.id, now=now + dt.timedelta(days=2))
    assert later.can_request_opt_in
    opted_in = make_customer(session, status=SmsStatus.opted_in)
    assert "Already opted in" in personas.view(session, opted_in.id, now=now).request_refusal


def test_the_view_of_a_missing_customer_says_so(session):
    with pytest.raises(customers.NotFound):
        personas.view(session, 424242)


def test_parse_query_tells_phones_partial_phones_and_words_apart():
    assert personas.parse_query("(415) 867-5309") == personas.Query(phone="+14158675309")
    assert personas.parse_query("867-5309") == personas.Query(digits="8675309")
    assert personas.parse_query("Ada  Lovelace") == personas.Query(text="Ada Lovelace")
    assert personas.parse_query("ada123") == personas.Query(text="ada123")
    assert personas.parse_query("") == personas.Query() and personas.parse_query(None).empty
    assert personas.parse_query("12").hint
    assert len(personas.parse_query("x" * 1000).text) == personas.MAX_QUERY


@pytest.mark.parametrize("sparse", [personas.SPARSE, 0])
@pytest.mark.parametrize(
    "query, statuses",
    [
        ("", None),
        ("", ["opted_in"]),
        ("lovelace", None),
        ("ada lovelace", ["opted_in"]),
        ("ada@example.com", None),
        ("(415) 867-5309", None),
        ("867-5309", None),
        ("415 867", ["pending", "opted_out"]),
    ],
)
def test_sqlite_answers_every_search_from_an_index_never_a_table_scan(
    sqlite_session, monkeypatch, query, statuses, sparse
):
    from sqlalchemy import event

    session = sqlite_session
    monkeypatch.setattr(personas, "SPARSE", sparse)  # 0: always the "many matches" plan
    for i in range(3):
        make_customer(session, status=SmsStatus.opted_in, phone_number=f"+1415867530{i}")
    seen = []
    engine = session.get_bind()

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "customer" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        first = personas.search(session, query=query, statuses=statuses, limit=1)
        if first.has_more:
            personas.search(session, query=query, statuses=statuses, limit=1, after=first.next_cursor)
        personas.count(session, query=query, statuses=statuses)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    raw = session.connection().connection.dbapi_connection
    assert seen
    for statement, params in seen:
        plan = " | ".join(r[-1] for r in raw.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall())
        if "FROM customer" in statement:
            assert "SCAN customer" not in plan.replace("SCAN customer USING INDEX ix_customer_created_id", "").replace(
                "SCAN customer USING COVERING INDEX", ""
            ), (statement, plan)


def test_adding_a_customer_names_every_problem_at_once_and_adds_nothing(session):
    with pytest.raises(customers.InvalidDetails) as caught:
        personas.add(session, phone="12", first_name="Ada", last_name="", email="not-an-email")
    assert set(caught.value.errors) >= {"phone", "email"}
    assert session.exec(personas.select(Customer)).all() == []
    c = personas.add(session, phone="(415) 555-0177", first_name="Ada", last_name="Byron")
    assert c.sms_status is SmsStatus.not_opted_in


def test_the_request_button_says_what_happened_sent_then_refused(session, now):
    c = make_customer(session, phone_number="+14155550178")
    done = personas.request_opt_in(session, c.id, now=now)
    assert done.ok and done.sentence.startswith("Opt-in request sent")
    again = personas.request_opt_in(session, c.id, now=now + dt.timedelta(minutes=5))
    assert not again.ok and again.sentence.startswith("Not sent: ")

"""The demo shop: a few hundred customers over the last 90 days, consistent with the rulebook."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func
from sqlmodel import select

from core import bootstrap, db, phones
from core.training import demo
from core.consent.keywords import Keyword, classify
from core.models import (
    ConsentEvent,
    Customer,
    Direction,
    ImportRun,
    Message,
    MessageKind,
    MessageStatus,
    PosContact,
    PosSource,
    PossibleOptOut,
    SmsStatus,
    Source,
)
from tests.conftest import PG_URL
from tests.factories import make_customer

NOW = dt.datetime(2026, 11, 30, 19, 0, 0)


@pytest.fixture
def loaded(session):
    demo.load_demo(session, now=NOW)
    return session


def _count(session, model, *where):
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_new_database_is_empty_and_the_demo_fills_it(session):
    assert demo.is_empty(session)
    started = time.perf_counter()
    counts = demo.load_demo(session, now=NOW)
    assert time.perf_counter() - started < 10
    assert not demo.is_empty(session)
    assert 250 <= counts["customers"] <= 400
    assert _count(session, Customer) == counts["customers"]
    assert _count(session, ConsentEvent) == counts["consent_events"]
    assert _count(session, Message) == counts["messages"]


def test_every_status_and_every_source_is_in_the_demo(loaded):
    statuses = set(loaded.exec(select(Customer.sms_status).distinct()).all())
    assert statuses == set(SmsStatus)
    sources = set(loaded.exec(select(Customer.source).distinct()).all())
    assert sources == {s.value for s in Source}


def test_each_source_has_customers_in_several_statuses(loaded):
    for source in Source:
        statuses = set(loaded.exec(select(Customer.sms_status).where(Customer.source == source.value)).all())
        assert len(statuses) >= 2, source


def test_the_pos_customers_come_from_two_pos_sources_that_exist(loaded):
    names = set(loaded.exec(select(PosSource.name)).all())
    assert names == {"Dutchie POS", "Treez"}
    details = set(loaded.exec(select(Customer.source_detail).where(Customer.source == Source.pos_sync.value)).all())
    assert details == names
    assert _count(loaded, PosContact) == _count(loaded, Customer, Customer.source == Source.pos_sync.value)
    assert all(p.request_after for p in loaded.exec(select(PosSource)).all())


def test_the_imported_customers_have_their_import_runs(loaded):
    files = set(loaded.exec(select(Customer.source_detail).where(Customer.source == Source.csv_import.value)).all())
    assert set(loaded.exec(select(ImportRun.file_name)).all()) == files


def test_each_customers_status_is_the_new_status_of_its_last_consent_event(loaded):
    for c in loaded.exec(select(Customer)).all():
        last = loaded.exec(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id == c.id)
            .order_by(ConsentEvent.occurred_at.desc(), ConsentEvent.id.desc())
        ).first()
        if last is None:
            assert c.sms_status is SmsStatus.not_opted_in, c.name
        else:
            assert last.new_status is c.sms_status, c.name
            assert c.status_changed_at == last.occurred_at


def test_consent_events_chain_old_to_new_status(loaded):
    chains: dict[int, list[ConsentEvent]] = {}
    for e in loaded.exec(
        select(ConsentEvent).order_by(ConsentEvent.customer_id, ConsentEvent.occurred_at, ConsentEvent.id)
    ).all():
        chains.setdefault(e.customer_id, []).append(e)
    for events in chains.values():
        assert events[0].old_status is SmsStatus.not_opted_in
        for a, b in zip(events, events[1:]):
            assert a.new_status is b.old_status


def test_every_opt_in_has_evidence(loaded):
    for e in loaded.exec(select(ConsentEvent).where(ConsentEvent.new_status == SmsStatus.opted_in)).all():
        ev = e.evidence
        assert (
            ("inbound_text" in ev and classify(ev["inbound_text"]) in (Keyword.CONFIRM, Keyword.RESUBSCRIBE))
            or ("form" in ev and ev.get("signature"))
            or ("file" in ev and ev.get("attested"))
        ), ev


def test_reply_evidence_points_at_the_inbound_text_it_quotes(loaded):
    for e in loaded.exec(select(ConsentEvent)).all():
        if "message_id" in e.evidence:
            msg = loaded.get(Message, e.evidence["message_id"])
            assert msg.direction is Direction.inbound
            assert msg.body == e.evidence["inbound_text"]
            assert msg.customer_id == e.customer_id


def test_everything_happened_in_the_last_90_days_and_nothing_in_the_future(loaded):
    oldest = NOW - dt.timedelta(days=91)
    for column in (Customer.created_at, ConsentEvent.occurred_at, Message.created_at):
        lo, hi = loaded.exec(select(func.min(column), func.max(column))).one()
        assert oldest <= lo and hi <= NOW


def test_the_demo_moves_with_the_day_it_is_loaded(session):
    later = NOW + dt.timedelta(days=200, hours=3)
    demo.load_demo(session, now=later)
    newest = session.exec(select(func.max(Message.created_at))).one()
    assert later - dt.timedelta(days=2) < newest <= later


def test_the_messages_are_the_keywords_and_the_replies_the_rules_send(loaded):
    inbound = [classify(b) for b in loaded.exec(select(Message.body).where(Message.direction == Direction.inbound))]
    for keyword in (Keyword.CONFIRM, Keyword.OPT_OUT, Keyword.RESUBSCRIBE, Keyword.HELP, Keyword.POSSIBLE_OPT_OUT):
        assert keyword in inbound
    kinds = set(loaded.exec(select(Message.kind).where(Message.direction == Direction.outbound)).all())
    assert kinds == {k for k in MessageKind if k.templated}  # the age gate's replies come from the Inbox live
    bodies = loaded.exec(select(Message.body).where(Message.kind == MessageKind.opt_out_confirmation)).all()
    assert all("no more messages" in b for b in bodies)
    assert _count(loaded, Message, Message.status == MessageStatus.blocked) >= 1


def test_nothing_but_an_opt_out_confirmation_or_help_reply_went_to_an_opted_out_phone(loaded):
    for c in loaded.exec(select(Customer).where(Customer.sms_status == SmsStatus.opted_out)).all():
        sent = loaded.exec(
            select(Message).where(
                Message.customer_id == c.id,
                Message.status == MessageStatus.sent,
                Message.created_at > c.status_changed_at,
            )
        ).all()
        assert all(m.kind in (MessageKind.help_reply,) for m in sent), c.name


def test_some_customers_have_waited_more_than_7_days_for_their_opt_in_request(loaded):
    week_ago = NOW - dt.timedelta(days=7)
    assert (
        _count(loaded, Customer, Customer.sms_status == SmsStatus.pending, Customer.status_changed_at < week_ago) >= 3
    )


def test_a_couple_of_possible_opt_outs_await_the_owner_with_a_future_deadline(loaded):
    waiting = loaded.exec(select(PossibleOptOut).where(PossibleOptOut.decision.is_(None))).all()
    assert len(waiting) >= 2
    assert all(r.deadline > NOW.date() and r.message_id for r in waiting)


def test_names_with_apostrophes_and_accents_are_kept(loaded):
    names = {c.name for c in loaded.exec(select(Customer)).all()}
    assert any("'" in n for n in names)
    assert any(any(ord(ch) > 127 for ch in n) for n in names)


def test_every_phone_is_valid_e164_and_unique(loaded):
    all_phones = loaded.exec(select(Customer.phone)).all()
    assert len(all_phones) == len(set(all_phones))
    assert all(phones.normalize(p) == p for p in all_phones)


def test_the_demo_refuses_to_load_twice(loaded):
    before = _count(loaded, Customer)
    with pytest.raises(demo.ShopNotEmpty):
        demo.load_demo(loaded, now=NOW)
    assert _count(loaded, Customer) == before


def test_the_demo_refuses_a_shop_that_has_real_customers(session):
    make_customer(session)
    with pytest.raises(demo.ShopNotEmpty):
        demo.load_demo(session, now=NOW)
    assert _count(session, Customer) == 1
    assert _count(session, Message) == 0


def test_the_generator_writes_the_same_files_again(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_demo", demo.DATA_DIR / "make_demo.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    g = mod.Gen()
    g.run()
    mod.dump(g, tmp_path)
    for name in sorted(p.name for p in demo.DATA_DIR.glob("*.csv")):
        assert (tmp_path / name).read_bytes() == (demo.DATA_DIR / name).read_bytes(), (
            f"data/{name} is out of date: run python data/make_demo.py"
        )


def test_the_demo_brings_its_sign_up_forms_submissions_and_views(loaded):
    from core.models import FormSubmission, FormView, SignupForm

    forms = {f.slug: f for f in loaded.exec(select(SignupForm)).all()}
    assert {"main", "in-store-tablet"} <= set(forms)
    tablet = forms["in-store-tablet"]
    assert tablet.auto_opt_in and not tablet.double_opt_in and tablet.fields["signature"] == "required"
    from_forms = _count(loaded, Customer, Customer.source == Source.signup_form.value)
    assert _count(loaded, FormSubmission) == from_forms
    assert sum(f.submissions for f in forms.values()) == from_forms
    assert loaded.exec(select(func.sum(FormView.views))).one() == sum(f.views for f in forms.values())
    for e in loaded.exec(select(ConsentEvent).where(ConsentEvent.channel == "signup_form")).all():
        sub = loaded.get(FormSubmission, e.evidence["submission_id"])
        assert sub.customer_id == e.customer_id
        assert e.evidence["submitted_at"] == e.occurred_at.isoformat(sep=" ", timespec="seconds")


def test_views_of_a_form_opened_before_the_demo_are_kept(session):
    from core.signups import forms
    from core.models import FormView

    main = forms.main_form(session)
    day = demo.anchor(NOW).date()
    forms.record_view(session, form_id=main.id, now=dt.datetime.combine(day, dt.time(12)))
    demo.load_demo(session, now=NOW)
    row = session.exec(select(FormView).where(FormView.form_id == main.id, FormView.day == day)).one()
    assert row.views >= 1
    session.refresh(main)
    assert main.views == session.exec(select(func.sum(FormView.views)).where(FormView.form_id == main.id)).one()


# --- The demo shop lives apart from the real shop -------------------------------------------------


def test_every_demo_phone_is_fictional_555_01xx_and_still_a_valid_number(loaded):
    import phonenumbers

    numbers = set(loaded.exec(select(Customer.phone)).all()) | set(loaded.exec(select(Message.phone)).all())
    assert len(numbers) >= 300
    for phone in numbers:
        assert demo.is_fictional(phone), phone
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone)), phone
    assert len({p[2:5] for p in numbers}) >= 5  # several area codes
    assert not demo.is_fictional("+14158675309") and not demo.is_fictional("+15105550200")


def _customers(url: str) -> int:
    from sqlmodel import Session

    eng = db.make_engine(url)
    try:
        with Session(eng) as s:
            return _count(s, Customer)
    finally:
        eng.dispose()


def _opted_in_export(url: str) -> str:
    from sqlmodel import Session

    from core.audiences import export as aud_export

    eng = db.make_engine(url)
    try:
        with Session(eng) as s:
            return b"".join(
                aud_export.export_csv(s, [{"trait": "opt_in_status", "op": "is true", "value": None}])
            ).decode()
    finally:
        eng.dispose()


@pytest.fixture
def real_shop(tmp_path):
    url = f"sqlite:///{tmp_path / 'optin_desk.db'}"
    eng = db.make_engine(url)
    bootstrap.init_db(eng)
    eng.dispose()
    return url


def test_the_demo_shop_is_a_file_of_its_own_and_the_real_shop_stays_empty(real_shop, tmp_path):
    url = demo.prepare(real_shop)
    assert url == f"sqlite:///{tmp_path / 'optin_desk.demo.db'}"
    assert _customers(url) >= 250
    assert _customers(real_shop) == 0
    export = _opted_in_export(real_shop)
    assert export.strip().count("\n") == 0  # the header only: no demo number can leave the real shop
    assert "555" not in export
    # the demo's own export is full (of fictional numbers): its opted-in customers whose age was verified (the
    # demo dispensary's gate is at 21; imported and POS-synced customers gave no date of birth)
    assert _opted_in_export(url).count("\n") > 60


def test_exploring_the_demo_again_reuses_it_with_what_the_owner_did_there(real_shop):
    from sqlmodel import Session

    url = demo.prepare(real_shop)
    eng = db.make_engine(url)
    with Session(eng) as s:
        make_customer(s, phone_number="+14158675309")
        assert demo.is_demo(s)
        before = _count(s, Customer)
    eng.dispose()
    assert demo.prepare(real_shop) == url
    assert _customers(url) == before


def test_removing_the_demo_shop_deletes_its_file_and_nothing_else(real_shop, tmp_path):
    url = demo.prepare(real_shop)
    eng = db.make_engine(url)
    eng.connect().close()  # an engine the app had open on it
    assert demo.exists(real_shop)
    assert demo.remove(real_shop, engine=eng) is True
    assert not demo.exists(real_shop)
    assert not [p.name for p in tmp_path.iterdir() if ".demo." in p.name]
    assert (tmp_path / "optin_desk.db").exists()
    assert demo.remove(real_shop) is False  # nothing left to remove
    assert demo.prepare(real_shop) == url and _customers(url) >= 250  # a fresh demo on request


def test_remove_refuses_a_database_in_the_demos_place_that_is_not_the_demo(real_shop, tmp_path):
    from sqlmodel import Session

    not_demo = f"sqlite:///{tmp_path / 'optin_desk.demo.db'}"
    eng = db.make_engine(not_demo)
    bootstrap.init_db(eng)
    with Session(eng) as s:
        make_customer(s)
    eng.dispose()
    with pytest.raises(demo.DemoError):
        demo.remove(real_shop)
    with pytest.raises(demo.DemoError):
        demo.prepare(real_shop)
    assert _customers(not_demo) == 1


def test_an_in_memory_shop_has_no_demo_shop_and_says_why():
    with pytest.raises(demo.DemoError, match="file or on PostgreSQL"):
        demo.prepare("sqlite://")


@pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_on_postgresql_the_demo_shop_is_a_schema_of_its_own_and_removing_it_drops_the_schema():
    import uuid

    from sqlalchemy import text

    shop = "t_" + uuid.uuid4().hex[:10]
    admin = db.make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{shop}"'))
    real = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{shop}"

    def schemas() -> set[str]:
        with admin.connect() as conn:
            return set(
                conn.execute(
                    text("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE :p"),
                    {"p": f"{shop}%"},
                ).scalars()
            )

    try:
        eng = db.make_engine(real)
        bootstrap.init_db(eng)
        eng.dispose()
        url = demo.prepare(real)
        assert f"{shop}_demo" in url
        assert schemas() == {shop, f"{shop}_demo"}
        assert _customers(url) >= 250
        assert _customers(real) == 0
        assert _opted_in_export(real).strip().count("\n") == 0
        assert demo.remove(real) is True
        assert schemas() == {shop}
        assert not demo.exists(real)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{shop}_demo" CASCADE'))
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{shop}" CASCADE'))
        admin.dispose()


def test_the_demo_dispensary_requires_21_and_its_form_and_text_customers_gave_a_date_of_birth(loaded):
    from core.consent import age
    from core.models import Customer, Source

    assert age.min_age(loaded) == demo.DEMO_MIN_AGE == 21
    rows = loaded.exec(select(Customer.source, Customer.verified_birth_date)).all()
    assert all(b is not None for src, b in rows if src in (Source.signup_form.value, Source.text_to_join.value))
    assert all(b is None for src, b in rows if src in (Source.csv_import.value, Source.pos_sync.value))
    assert 0 < age.unverified_count(loaded) < len(rows)

"""The demo shop: a few hundred customers over the last 90 days, loaded from data/*.csv.

The CSV files are written by data/make_demo.py (which runs the app's own rules);
their times are relative (`days_ago`), so the demo is always "the last 90 days"
whenever it is loaded. Loading is one transaction of bulk inserts.

The demo never mixes with the real shop: it lives in a database of its own beside the
shop's (``<shop>.demo.db``, or schema ``demo`` on PostgreSQL; see `prepare` and `remove`),
and its phone numbers are fictional (555-0100 to 555-0199, reserved for fiction in every
North American area code), so even a leaked demo number reaches nobody.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import func, insert, inspect
from sqlmodel import Session, col, select

from core import bootstrap, db
from core.training import training
from core.clock import as_utc
from core.db import PROJECT_ROOT, lock_for_write, run_write
from core.clock import review_deadline
from core.models import (
    Channel,
    ConsentEvent,
    Customer,
    Decision,
    Direction,
    FormSubmission,
    FormView,
    ImportRun,
    Message,
    MessageKind,
    MessageStatus,
    PosContact,
    PosSource,
    PossibleOptOut,
    Setting,
    SignupForm,
    SmsStatus,
    Source,
)
from core.errors import OwnerError

DATA_DIR = PROJECT_ROOT / "data"
# The time of day (UTC) the demo history was generated at (data/make_demo.py's BASE). Loading
# anchors the history on the latest such moment before now, so texts keep their shop-hours
# time of day and nothing lands in the future.
ANCHOR_TIME = dt.time(19, 0)
DEMO_NAME = "demo"  # <shop>.demo.db beside a SQLite shop; schema "demo" on PostgreSQL
MARK_KEY = "demo_shop"  # Setting written in the demo's own database: "this is the demo shop"
# North American numbers reserved for fiction: 555-0100 to 555-0199 in any area code.
FICTIONAL = re.compile(r"\+1[2-9]\d\d55501\d\d")


class DemoError(OwnerError):
    """The demo shop cannot be loaded; the message says why."""


class ShopNotEmpty(DemoError):
    pass


def is_empty(session: Session) -> bool:
    """True when the shop has no customers yet."""
    return session.exec(select(Customer.id).limit(1)).first() is None


def customer_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Customer)).one()


def _read(name: str, data_dir: Path) -> list[dict[str, str]]:
    path = data_dir / name
    if not path.exists():
        raise DemoError(f"The demo shop's file {name} is missing from {data_dir}.")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def anchor(now: dt.datetime) -> dt.datetime:
    """The latest moment at ANCHOR_TIME (UTC) not after `now`: the demo's "now"."""
    base = dt.datetime.combine(now.date(), ANCHOR_TIME)
    return base if base <= now else base - dt.timedelta(days=1)


def _at(now: dt.datetime, days_ago: str) -> Optional[dt.datetime]:
    if days_ago in ("", None):
        return None
    return (now - dt.timedelta(days=float(days_ago))).replace(microsecond=0)


# The demo shop is a dispensary: its age gate is on at 21 (rulebook §11). Its customers who joined by a
# sign-up form or Text To Join gave a date of birth; imported and POS-synced ones did not, so the demo's
# audiences show what the gate leaves out.
DEMO_MIN_AGE = 21


def demo_verified_birth_date(key: int, source: str, birthday: Optional[dt.date]) -> Optional[dt.date]:
    """The date of birth a demo customer gave the age gate (data/make_demo.py writes it to customers.csv)."""
    if source not in (Source.signup_form.value, Source.text_to_join.value):
        return None
    if birthday is not None and birthday.year <= 2000:
        return birthday
    return dt.date(1970 + key % 28, 1 + key % 12, 1 + key % 28)


def _opt(value: str) -> Optional[str]:
    return value or None


def load_demo(
    session: Session, now: Optional[dt.datetime] = None, *, data_dir: Path = DATA_DIR, age_gate: bool = True
) -> dict[str, int]:
    """Load the demo shop into an empty database (one transaction). Returns counts per table.

    Raises ShopNotEmpty when the shop already has customers: the demo never mixes with real data.
    """
    now = anchor(as_utc(now).replace(microsecond=0))
    c_rows = _read("customers.csv", data_dir)
    e_rows = _read("consent_events.csv", data_dir)
    m_rows = _read("messages.csv", data_dir)
    r_rows = _read("possible_opt_outs.csv", data_dir)
    p_rows = _read("pos_sources.csv", data_dir)
    f_rows = _read("signup_forms.csv", data_dir)
    s_rows = _read("form_submissions.csv", data_dir)
    v_rows = _read("form_views.csv", data_dir)

    def work() -> dict[str, int]:
        lock_for_write(session, "load_demo")
        if not is_empty(session):
            raise ShopNotEmpty("The shop already has customers: the demo shop loads only into an empty database.")

        # customers
        session.execute(
            insert(Customer),
            [
                {
                    "first_name": r["first_name"],
                    "last_name": r["last_name"],
                    "phone": r["phone"],
                    "email": r["email"],
                    "birthday": dt.date.fromisoformat(r["birthday"]) if r["birthday"] else None,
                    "zip": r["zip"],
                    "source": Source(r["source"]).value,
                    "source_detail": r["source_detail"],
                    "sms_status": SmsStatus(r["sms_status"]),
                    "status_changed_at": _at(now, r["status_changed_days_ago"]),
                    "opt_in_requests": int(r["opt_in_requests"] or 0),
                    "last_request_at": _at(now, r["last_request_days_ago"]),
                    "created_at": _at(now, r["days_ago"]),
                    "updated_at": _at(now, r["updated_days_ago"]),
                    "verified_birth_date": dt.date.fromisoformat(r["verified_birth_date"])
                    if r.get("verified_birth_date")
                    else None,
                    "age_verified_at": _at(now, r["days_ago"]) if r.get("verified_birth_date") else None,
                }
                for r in c_rows
            ],
        )
        if age_gate:  # a dispensary: 21 or older (§11); the training shop teaches the flows without it
            session.merge(Setting(key="min_age", value=str(DEMO_MIN_AGE)))
        id_by_phone = dict(session.execute(select(Customer.phone, Customer.id)).all())
        cust = {r["key"]: id_by_phone[r["phone"]] for r in c_rows}

        # messages (ids in file order, so evidence and reviews can point at them)
        msg_ids: dict[str, int] = {}
        if m_rows:
            result = session.execute(
                insert(Message).returning(Message.id, sort_by_parameter_order=True),
                [
                    {
                        "customer_id": cust.get(r["customer_key"]) if r["customer_key"] else None,
                        "phone": r["phone"],
                        "shop_number": r["shop_number"],
                        "direction": Direction(r["direction"]),
                        "body": r["body"],
                        "kind": MessageKind(r["kind"]) if r["kind"] else None,
                        "status": MessageStatus(r["status"]),
                        "reason": r["reason"],
                        "encoding": r["encoding"],
                        "segments": int(r["segments"]),
                        "created_at": _at(now, r["days_ago"]),
                        "send_at": _at(now, r["send_days_ago"]),
                        "sent_at": _at(now, r["sent_days_ago"]),
                        "bulk": r["bulk"] == "1",
                    }
                    for r in m_rows
                ],
            )
            msg_ids = {r["key"]: mid for r, (mid,) in zip(m_rows, result.all())}

        sub_ids = _load_forms(session, now, f_rows, s_rows, v_rows, cust)

        def evidence(raw: str, when: dt.datetime) -> dict[str, Any]:
            ev = json.loads(raw) if raw else {}
            if "message_id" in ev:
                ev["message_id"] = msg_ids.get(str(ev["message_id"]))
            if "submission_id" in ev:
                ev["submission_id"] = sub_ids.get(str(ev["submission_id"]))
            if "submitted_at" in ev:
                ev["submitted_at"] = when.isoformat(sep=" ", timespec="seconds")
            return ev

        if e_rows:
            session.execute(
                insert(ConsentEvent),
                [
                    {
                        "customer_id": cust[r["customer_key"]],
                        "phone": r["phone"],
                        "old_status": SmsStatus(r["old_status"]) if r["old_status"] else None,
                        "new_status": SmsStatus(r["new_status"]),
                        "occurred_at": _at(now, r["days_ago"]),
                        "channel": Channel(r["channel"]),
                        "evidence": evidence(r["evidence"], _at(now, r["days_ago"])),
                    }
                    for r in e_rows
                ],
            )

        if r_rows:
            session.execute(
                insert(PossibleOptOut),
                [
                    {
                        "customer_id": cust[r["customer_key"]],
                        "phone": r["phone"],
                        "message_id": msg_ids.get(r["message_key"]),
                        "body": r["body"],
                        "received_at": _at(now, r["days_ago"]),
                        "deadline": review_deadline(_at(now, r["days_ago"])),
                        "decision": Decision(r["decision"]) if r["decision"] else None,
                        "decided_at": _at(now, r["decided_days_ago"]),
                        "reason": r["reason"],
                    }
                    for r in r_rows
                ],
            )

        # POS sources and which customers each one synced
        pos_counts: dict[str, dict[str, int]] = {}
        for r in c_rows:
            if r["source"] == Source.pos_sync.value:
                counts = pos_counts.setdefault(r["source_detail"], {"synced": 0})
                counts["synced"] += 1
        existing = {p.name: p for p in session.exec(select(PosSource)).all()}
        for r in p_rows:
            if r["name"] in existing:
                continue
            session.add(
                PosSource(
                    name=r["name"],
                    request_after=(now - dt.timedelta(days=int(r["request_after_days_ago"]))).date(),
                    last_sync_at=_at(now, r["last_sync_days_ago"]),
                    last_counts=pos_counts.get(r["name"], {}),
                    created_at=now - dt.timedelta(days=90),
                )
            )
        session.flush()
        source_id = {p.name: p.id for p in session.exec(select(PosSource)).all()}
        pos_links = [
            {
                "source_id": source_id[r["source_detail"]],
                "customer_id": cust[r["key"]],
                "synced_at": _at(now, r["days_ago"]),
            }
            for r in c_rows
            if r["source"] == Source.pos_sync.value and r["source_detail"] in source_id
        ]
        if pos_links:
            session.execute(insert(PosContact), pos_links)

        # the import runs that brought the csv_import customers
        runs: dict[str, dict[str, Any]] = {}
        for r in c_rows:
            if r["source"] != Source.csv_import.value:
                continue
            run = runs.setdefault(r["source_detail"], {"at": _at(now, r["days_ago"]), "rows": 0})
            run["rows"] += 1
        for file, run in runs.items():
            statuses = [
                e
                for e in e_rows
                if e["channel"] == Channel.csv_import.value and json.loads(e["evidence"]).get("file") == file
            ]
            opted_in = sum(e["new_status"] == SmsStatus.opted_in.value for e in statuses)
            opted_out = sum(e["new_status"] == SmsStatus.opted_out.value for e in statuses)
            session.add(
                ImportRun(
                    file_name=file,
                    origin="csv_import",
                    started_at=run["at"],
                    finished_at=run["at"] + dt.timedelta(seconds=4),
                    by="owner",
                    attested=True,
                    counts={
                        "rows": run["rows"],
                        "added": run["rows"],
                        "opted_in": opted_in,
                        "opted_out": opted_out,
                        "no_status": run["rows"] - opted_in - opted_out,
                        "errors": 0,
                    },
                )
            )
        session.flush()
        return {
            "customers": len(c_rows),
            "consent_events": len(e_rows),
            "messages": len(m_rows),
            "possible_opt_outs": len(r_rows),
            "pos_sources": len(p_rows),
            "form_submissions": len(sub_ids),
        }

    return run_write(session, work, attempts=3)


def _load_forms(
    session: Session,
    now: dt.datetime,
    f_rows: list[dict[str, str]],
    s_rows: list[dict[str, str]],
    v_rows: list[dict[str, str]],
    cust: dict[str, int],
) -> dict[str, int]:
    """The demo's sign-up forms, their submissions and daily views. Returns submission key -> id.

    The main form is the shop's own (init_db made it): it keeps its settings and gains the
    demo's counts. A demo form whose web address is taken is skipped with its submissions.
    """
    forms_by_slug = {f.slug: f for f in session.exec(select(SignupForm)).all()}
    main = next((f for f in forms_by_slug.values() if f.is_main), None)
    form_for: dict[str, SignupForm] = {}
    for r in f_rows:
        form = main if r["is_main"] == "1" else None
        if form is None and r["is_main"] != "1" and r["slug"] not in forms_by_slug:
            created = _at(now, r["days_ago"]) or now
            form = SignupForm(
                name=r["name"],
                slug=r["slug"],
                is_main=False,
                fields=json.loads(r["fields"]),
                collects_sms=r["collects_sms"] == "1",
                double_opt_in=r["double_opt_in"] == "1",
                auto_opt_in=r["auto_opt_in"] == "1",
                disclosure=r["disclosure"],
                disclosure_version=1,
                created_at=created,
                updated_at=created,
            )
        if form is None:
            continue
        form.views = (form.views or 0) + int(r["views"] or 0)
        form.submissions = (form.submissions or 0) + int(r["submissions"] or 0)
        session.add(form)
        form_for[r["slug"]] = form
    session.flush()
    rows = [r for r in s_rows if r["form_slug"] in form_for]
    sub_ids: dict[str, int] = {}
    if rows:
        result = session.execute(
            insert(FormSubmission).returning(FormSubmission.id, sort_by_parameter_order=True),
            [
                {
                    "form_id": form_for[r["form_slug"]].id,
                    "customer_id": cust.get(r["customer_key"]) if r["customer_key"] else None,
                    "disclosure_version": int(r["disclosure_version"] or 1),
                    "outcome": r["outcome"],
                    "submitted_at": _at(now, r["days_ago"]),
                    "answers": json.loads(r["answers"]) if r["answers"] else {},
                }
                for r in rows
            ],
        )
        sub_ids = {r["key"]: sid for r, (sid,) in zip(rows, result.all())}
    today = now.date()
    ids = [f.id for f in form_for.values()]
    existing = {(v.form_id, v.day): v for v in session.exec(select(FormView).where(col(FormView.form_id).in_(ids)))}
    views = []
    for r in v_rows:
        if r["form_slug"] not in form_for:
            continue
        key = (form_for[r["form_slug"]].id, today - dt.timedelta(days=int(r["days_ago"])))
        if key in existing:  # the page was already opened that day: add the demo's views
            existing[key].views += int(r["views"])
            session.add(existing[key])
        else:
            views.append({"form_id": key[0], "day": key[1], "views": int(r["views"])})
    if views:
        session.execute(insert(FormView), views)
    return sub_ids


def is_fictional(phone: str) -> bool:
    """True for a North American number reserved for fiction (NXX-555-0100 to 0199): nobody's phone."""
    return bool(FICTIONAL.fullmatch(phone or ""))


# --- The demo shop's own database ---------------------------------------------------------


def demo_url(main_url: str | None = None) -> str:
    """Where the demo shop lives: beside the real shop, never in it."""
    try:
        return training.separate_url(main_url, DEMO_NAME)
    except training.TrainingError as exc:
        raise DemoError(str(exc)) from None


def is_demo(session: Session) -> bool:
    """True in the demo shop's own database."""
    return session.get(Setting, MARK_KEY) is not None


def _check_is_demo_or_empty(session: Session) -> None:
    if not is_demo(session) and not is_empty(session):
        raise DemoError(
            "The place kept for the demo shop holds customers that are not the demo's; it is left exactly as it is."
        )


def prepare(main_url: str | None = None, now: Optional[dt.datetime] = None) -> str:
    """Make (or reuse) the demo shop in its own database, seeded from data/. Returns its URL.

    The real shop's database is only read for where it lives: nothing is written to it.
    """
    url = demo_url(main_url)
    training._create_storage(url)
    engine = db.make_engine(url)
    try:
        bootstrap.init_db(engine)
        with Session(engine) as s:
            _check_is_demo_or_empty(s)
            if not is_demo(s):
                run_write(s, lambda: s.merge(Setting(key=MARK_KEY, value="1")))
            if is_empty(s):
                try:
                    load_demo(s, now=now)
                except ShopNotEmpty:  # another tab loaded it at the same moment
                    pass
    finally:
        engine.dispose()
    return url


def exists(main_url: str | None = None) -> bool:
    """True when the demo shop's file or schema is there."""
    return training.exists(demo_url(main_url))


def remove(main_url: str | None = None, *, engine=None) -> bool:
    """Delete the demo shop's database (file or schema); the real shop is not touched.

    Returns False when there was no demo shop. Refuses (DemoError) when the place kept for the
    demo holds a database that is not the demo's, so a real shop can never be deleted here.
    """
    url = demo_url(main_url)
    if url == db.database_url(main_url) or not training.exists(url):
        return False
    probe = db.make_engine(url)
    try:
        if "customer" in inspect(probe).get_table_names():
            with Session(probe) as s:
                _check_is_demo_or_empty(s)
    finally:
        probe.dispose()
    training.drop(url, engine)
    return True

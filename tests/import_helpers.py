"""Helpers shared by the import and POS sync tests."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from core.models import ConsentEvent, Customer, ImportRun, Message, PosContact

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"


def fixture(name: str) -> Path:
    return FIXTURES / name


def write_csv(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _v(x):
    return x.value if hasattr(x, "value") else x


def snapshot(session: Session) -> dict:
    """Everything an import may change, without ids or times that differ between two databases."""
    session.expire_all()
    customers = sorted(
        (
            c.phone,
            _v(c.sms_status),
            c.first_name,
            c.last_name,
            c.email,
            c.source,
            c.source_detail,
            c.opt_in_requests,
            c.last_request_at,
            c.status_changed_at,
        )
        for c in session.exec(select(Customer)).all()
    )
    events = sorted(
        (
            e.phone,
            _v(e.old_status),
            _v(e.new_status),
            _v(e.channel),
            tuple(sorted(e.evidence.items())),
            e.dedupe_key,
            e.occurred_at,
            e.pending_seconds,
            e.customer_source,
        )
        for e in session.exec(select(ConsentEvent)).all()
    )
    messages = sorted(
        (
            m.phone,
            _v(m.kind),
            _v(m.status),
            m.reason,
            m.body,
            m.send_at,
            m.sent_at,
            m.bulk,
            m.dedupe_key,
            m.encoding,
            m.segments,
        )
        for m in session.exec(select(Message)).all()
    )
    return {"customers": customers, "events": events, "messages": messages}


def counts(session: Session) -> dict:
    from sqlalchemy import func

    def n(model):
        return session.exec(select(func.count()).select_from(model)).one()

    return {
        "customers": n(Customer),
        "events": n(ConsentEvent),
        "messages": n(Message),
        "runs": n(ImportRun),
        "pos_contacts": n(PosContact),
    }


def status_of(session: Session, phone: str):
    session.expire_all()
    c = session.exec(select(Customer).where(Customer.phone == phone)).first()
    return None if c is None else _v(c.sms_status)

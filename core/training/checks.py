"""The walkthrough's building blocks: a scenario, its steps and their results, and the check behind each
step, read from the training shop's database (and the training marks the pages record)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Optional

from sqlmodel import Session, col, func, select

from core.messaging import compliance
from core.models import (
    Channel,
    ConsentEvent,
    Customer,
    Decision,
    Direction,
    FormSubmission,
    ImportRun,
    Message,
    MessageKind,
    MessageStatus,
    PosSource,
    PossibleOptOut,
    SignupForm,
    SmsStatus,
    TextingDefaults,
)


SENT = (MessageStatus.sent, MessageStatus.queued)


@dataclass
class Ctx:
    """What the checks share: the session, when training started, the marks, and findings of earlier steps."""

    session: Session
    start: dt.datetime
    marks: dict[str, str]
    found: dict[str, object] = field(default_factory=dict)

    def viewed(self, customer_id: Optional[int]) -> bool:
        return customer_id is not None and f"viewed:{customer_id}" in self.marks

    def viewed_at(self, customer_id: Optional[int]) -> Optional[dt.datetime]:
        """When the trainee last opened this customer on Personas (None: not opened, or not known)."""
        value = self.marks.get(f"viewed:{customer_id}") if customer_id is not None else None
        try:
            return dt.datetime.fromisoformat(value) if value else None
        except ValueError:
            return None


Check = Callable[[Ctx], bool]


@dataclass(frozen=True)
class Step:
    text: str
    hint: str
    check: Check


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    goal: str
    steps: tuple[Step, ...]


@dataclass
class StepResult:
    text: str
    hint: str
    done: bool


@dataclass
class ScenarioResult:
    key: str
    title: str
    goal: str
    steps: list[StepResult]

    @property
    def done(self) -> bool:
        return all(s.done for s in self.steps)

    @property
    def progress(self) -> float:
        return sum(s.done for s in self.steps) / len(self.steps)

    @property
    def heading(self) -> str:
        """'Opt-in by text — done', or '… — 1/3 steps'."""
        state = "done" if self.done else f"{sum(x.done for x in self.steps)}/{len(self.steps)} steps"
        return f"{self.title} — {state}"


# --- helpers for checks -------------------------------------------------------------------


def _events(ctx: Ctx, *where):
    return ctx.session.exec(
        select(ConsentEvent)
        .where(ConsentEvent.occurred_at >= ctx.start, *where)
        .order_by(col(ConsentEvent.occurred_at), col(ConsentEvent.id))
    ).all()


def _submissions(ctx: Ctx, outcome: str):
    return ctx.session.exec(
        select(FormSubmission)
        .where(FormSubmission.submitted_at >= ctx.start, FormSubmission.outcome == outcome)
        .order_by(col(FormSubmission.submitted_at), col(FormSubmission.id))
    ).all()


# 1. Double opt-in --------------------------------------------------------------------------


def signed_up_double(ctx: Ctx) -> bool:
    subs = _submissions(ctx, "check_phone")
    ctx.found["s1_customers"] = [s.customer_id for s in subs if s.customer_id]
    return bool(subs)


def confirmed_yes(ctx: Ctx) -> bool:
    ids = ctx.found.get("s1_customers") or []
    if not ids:
        return False
    # A confirmation stays done when the trainee goes on (scenario 2 texts STOP from the same phone).
    evs = _events(
        ctx,
        col(ConsentEvent.customer_id).in_(ids),
        ConsentEvent.new_status == SmsStatus.opted_in,
        ConsentEvent.channel == Channel.sms_reply,
        ConsentEvent.old_status == SmsStatus.pending,
    )
    ctx.found["s1_confirmed"] = evs
    return bool(evs)


def _status_at(ctx: Ctx, customer_id: int, at: dt.datetime) -> Optional[SmsStatus]:
    last = ctx.session.exec(
        select(ConsentEvent)
        .where(ConsentEvent.customer_id == customer_id, ConsentEvent.occurred_at <= at)
        .order_by(col(ConsentEvent.occurred_at).desc(), col(ConsentEvent.id).desc())
    ).first()
    return SmsStatus(last.new_status) if last else None


def saw_opted_in(ctx: Ctx) -> bool:
    """Opened on Personas after the YES, while the customer was opted in (the green ✓ was there to see)."""
    for e in ctx.found.get("s1_confirmed") or []:
        seen = ctx.viewed_at(e.customer_id)
        if seen is None:
            customer = ctx.session.get(Customer, e.customer_id)
            if ctx.viewed(e.customer_id) and customer and customer.sms_status is SmsStatus.opted_in:
                return True
        elif seen >= e.occurred_at and _status_at(ctx, e.customer_id, seen) is SmsStatus.opted_in:
            return True
    return False


# 2. Opt-out and rejoin -----------------------------------------------------------------------


def texted_stop(ctx: Ctx) -> bool:
    for e in _events(ctx, ConsentEvent.new_status == SmsStatus.opted_out, ConsentEvent.channel == Channel.sms_reply):
        text = str((e.evidence or {}).get("inbound_text", ""))
        if "message_id" not in (e.evidence or {}) or "reason" in (e.evidence or {}):
            continue  # an owner-confirmed possible opt-out is scenario 7
        sent_after = ctx.session.exec(
            select(Message)
            .where(
                Message.phone == e.phone,
                Message.direction == Direction.outbound,
                col(Message.status).in_(SENT),
                Message.created_at >= e.occurred_at,
                Message.kind != MessageKind.help_reply,
            )
            .order_by(col(Message.created_at), col(Message.id))
        ).all()
        later_in = _events(
            ctx,
            ConsentEvent.customer_id == e.customer_id,
            ConsentEvent.new_status == SmsStatus.opted_in,
            ConsentEvent.occurred_at >= e.occurred_at,
        )
        if later_in:  # only what went out while opted out counts
            sent_after = [m for m in sent_after if m.created_at < later_in[0].occurred_at]
        if text and [m.kind for m in sent_after] == [MessageKind.opt_out_confirmation]:
            ctx.found["s2_stop"] = e
            return True
    return False


def told_to_text_start(ctx: Ctx) -> bool:
    stop: Optional[ConsentEvent] = ctx.found.get("s2_stop")  # type: ignore[assignment]
    if stop is None:
        return False
    subs = [
        s
        for s in _submissions(ctx, "text_start")
        if s.customer_id == stop.customer_id and s.submitted_at >= stop.occurred_at
    ]
    if subs:
        ctx.found["s2_form"] = subs[0]
    return bool(subs)


def texted_start(ctx: Ctx) -> bool:
    sub: Optional[FormSubmission] = ctx.found.get("s2_form")  # type: ignore[assignment]
    if sub is None:
        return False
    return bool(
        _events(
            ctx,
            ConsentEvent.customer_id == sub.customer_id,
            ConsentEvent.old_status == SmsStatus.opted_out,
            ConsentEvent.new_status == SmsStatus.opted_in,
            ConsentEvent.channel == Channel.sms_reply,
            ConsentEvent.occurred_at >= sub.submitted_at,
        )
    )


# 3. Auto opt-in ------------------------------------------------------------------------------


def auto_form(ctx: Ctx) -> bool:
    forms = ctx.session.exec(
        select(SignupForm).where(
            SignupForm.auto_opt_in == True,  # noqa: E712
            SignupForm.double_opt_in == False,  # noqa: E712
        )
    ).all()
    good = [f for f in forms if (f.fields or {}).get("signature") == "required" and f.updated_at >= ctx.start]
    ctx.found["s3_forms"] = [f.id for f in good]
    return bool(good)


def auto_signup(ctx: Ctx) -> bool:
    ids = ctx.found.get("s3_forms") or []
    subs = [s for s in _submissions(ctx, "subscribed") if s.form_id in ids]
    for s in subs:
        evs = _events(
            ctx,
            ConsentEvent.customer_id == s.customer_id,
            ConsentEvent.channel == Channel.signup_form,
            ConsentEvent.new_status == SmsStatus.opted_in,
        )
        if any((e.evidence or {}).get("signature") for e in evs):
            ctx.found["s3_customer"] = s.customer_id
            return True
    return False


def saw_evidence(ctx: Ctx) -> bool:
    return ctx.viewed(ctx.found.get("s3_customer"))  # type: ignore[arg-type]


# 4. A non-compliant opt-in request -----------------------------------------------------------


def refused(ctx: Ctx) -> bool:
    return "refused_opt_in_request" in ctx.marks


def compliant_saved(ctx: Ctx) -> bool:
    d = ctx.session.get(TextingDefaults, 1)
    if d is None or d.updated_at < ctx.start or not refused(ctx):
        return False
    changed = d.opt_in_request.strip() != compliance.DEFAULT_TEMPLATES["opt_in_request"].strip()
    return changed and not compliance.errors(compliance.check("opt_in_request", d.opt_in_request, brand=d.brand))


# 5. POS sync ---------------------------------------------------------------------------------


def _pos_changes(ctx: Ctx) -> list[dict]:
    out = []
    for src in ctx.session.exec(select(PosSource)).all():
        for entry in getattr(src, "request_after_log", None) or []:
            at = dt.datetime.fromisoformat(entry["at"])
            if at >= ctx.start:
                out.append({**entry, "source_id": src.id, "at_dt": at})
    return sorted(out, key=lambda e: e["at_dt"])


def _pos_bulk_requests(ctx: Ctx, since: dt.datetime) -> int:
    return ctx.session.exec(
        select(func.count())
        .select_from(Message)
        .where(
            Message.kind == MessageKind.opt_in_request,
            Message.bulk == True,  # noqa: E712
            col(Message.status).in_(SENT),
            Message.created_at >= since,
        )
    ).one()


def pos_date_set(ctx: Ctx) -> bool:
    changes = [c for c in _pos_changes(ctx) if c.get("date")]
    if changes:
        ctx.found["s5_first"] = changes[0]
    return bool(changes)


def pos_synced(ctx: Ctx) -> bool:
    first = ctx.found.get("s5_first")
    if not first:
        return False
    # a POS sync after the date was set that itself sent (or queued) opt-in requests; requests from an
    # import or from moving the date back do not count here
    runs = ctx.session.exec(
        select(ImportRun).where(
            ImportRun.origin == "pos_sync",
            ImportRun.started_at >= first["at_dt"],  # type: ignore[index]
            col(ImportRun.finished_at).is_not(None),
        )
    ).all()
    return any(
        int((r.counts or {}).get("requests_sent", 0)) + int((r.counts or {}).get("requests_queued", 0)) > 0
        for r in runs
    )


def pos_back_in_time(ctx: Ctx) -> bool:
    if not pos_synced(ctx):
        return False
    changes = _pos_changes(ctx)
    for prev, cur in zip(changes, changes[1:]):
        if (
            prev["source_id"] == cur["source_id"]
            and prev.get("date")
            and cur.get("date")
            and cur["date"] < prev["date"]
            and _pos_bulk_requests(ctx, cur["at_dt"]) > 0
        ):
            return True
    return False


# 6. Import with conflicts --------------------------------------------------------------------


def import_conflicts(ctx: Ctx) -> bool:
    runs = ctx.session.exec(
        select(ImportRun).where(ImportRun.started_at >= ctx.start, col(ImportRun.finished_at).is_not(None))
    ).all()
    good = [r for r in runs if int((r.counts or {}).get("kept_opted_out", 0)) > 0]
    if good:
        ctx.found["s6_run"] = good[-1]
    return bool(good)


def stayed_out(ctx: Ctx) -> bool:
    run: Optional[ImportRun] = ctx.found.get("s6_run")  # type: ignore[assignment]
    if run is None:
        return False
    lifted = _events(
        ctx,
        ConsentEvent.old_status == SmsStatus.opted_out,
        col(ConsentEvent.channel).in_([Channel.csv_import, Channel.pos_sync]),
    )
    if lifted:
        return False
    viewed = [
        int(k.split(":", 1)[1])
        for k, v in ctx.marks.items()
        if k.startswith("viewed:") and v and dt.datetime.fromisoformat(v) >= run.started_at
    ]
    return any(
        ctx.session.get(Customer, cid) and ctx.session.get(Customer, cid).sms_status is SmsStatus.opted_out
        for cid in viewed
    )


# 7. A possible opt-out -------------------------------------------------------------------------


def possible_received(ctx: Ctx) -> bool:
    rows = ctx.session.exec(select(PossibleOptOut).where(PossibleOptOut.received_at >= ctx.start)).all()
    ctx.found["s7"] = rows
    return bool(rows)


def possible_confirmed(ctx: Ctx) -> bool:
    for r in ctx.found.get("s7") or []:
        # opted out once decided (a START later, e.g. for scenario 2, does not undo what was done)
        if (
            r.decision is Decision.confirmed
            and r.decided_at
            and r.decided_at.date() <= r.deadline
            and _status_at(ctx, r.customer_id, r.decided_at) is SmsStatus.opted_out
        ):
            return True
    return False

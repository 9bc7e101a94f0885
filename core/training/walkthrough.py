"""Compliance-training scenarios: steps a trainee performs in the real pages, each with a check.

Every check reads the training shop's database (and, for what leaves no other
trace — a template the editor refused, a customer opened on Personas — the
training marks the pages record). A check is green only when the state is
really reached, and only by what the trainee did after training started.
"""

from __future__ import annotations

import logging
import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Optional

from sqlmodel import Session, col, func, select

from core.clock import shop_date, shop_time, utcnow
from core.messaging import compliance
from core.training import training
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

log = logging.getLogger(__name__)

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


def _signed_up_double(ctx: Ctx) -> bool:
    subs = _submissions(ctx, "check_phone")
    ctx.found["s1_customers"] = [s.customer_id for s in subs if s.customer_id]
    return bool(subs)


def _confirmed_yes(ctx: Ctx) -> bool:
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


def _saw_opted_in(ctx: Ctx) -> bool:
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


def _texted_stop(ctx: Ctx) -> bool:
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


def _told_to_text_start(ctx: Ctx) -> bool:
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


def _texted_start(ctx: Ctx) -> bool:
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


def _auto_form(ctx: Ctx) -> bool:
    forms = ctx.session.exec(
        select(SignupForm).where(
            SignupForm.auto_opt_in == True,  # noqa: E712
            SignupForm.double_opt_in == False,  # noqa: E712
        )
    ).all()
    good = [f for f in forms if (f.fields or {}).get("signature") == "required" and f.updated_at >= ctx.start]
    ctx.found["s3_forms"] = [f.id for f in good]
    return bool(good)


def _auto_signup(ctx: Ctx) -> bool:
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


def _saw_evidence(ctx: Ctx) -> bool:
    return ctx.viewed(ctx.found.get("s3_customer"))  # type: ignore[arg-type]


# 4. A non-compliant opt-in request -----------------------------------------------------------


def _refused(ctx: Ctx) -> bool:
    return "refused_opt_in_request" in ctx.marks


def _compliant_saved(ctx: Ctx) -> bool:
    d = ctx.session.get(TextingDefaults, 1)
    if d is None or d.updated_at < ctx.start or not _refused(ctx):
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


def _pos_date_set(ctx: Ctx) -> bool:
    changes = [c for c in _pos_changes(ctx) if c.get("date")]
    if changes:
        ctx.found["s5_first"] = changes[0]
    return bool(changes)


def _pos_synced(ctx: Ctx) -> bool:
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


def _pos_back_in_time(ctx: Ctx) -> bool:
    if not _pos_synced(ctx):
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


def _import_conflicts(ctx: Ctx) -> bool:
    runs = ctx.session.exec(
        select(ImportRun).where(ImportRun.started_at >= ctx.start, col(ImportRun.finished_at).is_not(None))
    ).all()
    good = [r for r in runs if int((r.counts or {}).get("kept_opted_out", 0)) > 0]
    if good:
        ctx.found["s6_run"] = good[-1]
    return bool(good)


def _stayed_out(ctx: Ctx) -> bool:
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


def _possible_received(ctx: Ctx) -> bool:
    rows = ctx.session.exec(select(PossibleOptOut).where(PossibleOptOut.received_at >= ctx.start)).all()
    ctx.found["s7"] = rows
    return bool(rows)


def _possible_confirmed(ctx: Ctx) -> bool:
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


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "double_opt_in",
        "1. Double opt-in",
        "A customer signs up on the public form and confirms by replying YES.",
        (
            Step(
                "Sign up a new customer on the public sign-up form (a form with double opt-in on).",
                "Open Public > Sign up (or the Main sign-up URL from Settings > Sign-up Forms > Share this "
                "page), enter a phone such as (415) 555-0199 and submit. The page says to reply Y.",
                _signed_up_double,
            ),
            Step(
                "Reply YES from that phone in the Inbox.",
                "Inbox > Simulator: type the same phone, text YES to the Main number.",
                _confirmed_yes,
            ),
            Step(
                "Find the customer on Personas and see the green ✓ next to SMS.",
                "Personas: search the phone, click View.",
                _saw_opted_in,
            ),
        ),
    ),
    Scenario(
        "opt_out_rejoin",
        "2. Opt-out and rejoin",
        "STOP ends all texting at once; only START brings the customer back.",
        (
            Step(
                "As a customer, text STOP: one confirmation comes back, and nothing more can be sent.",
                "Inbox > Simulator: pick an opted-in customer and text STOP. Try YES afterwards: no reply.",
                _texted_stop,
            ),
            Step(
                "Have the same customer sign up again on the public form: the page says to text START.",
                "Public > Sign up with the same phone.",
                _told_to_text_start,
            ),
            Step(
                "Text START from that phone: the customer is opted in again.",
                "Inbox > Simulator: text START.",
                _texted_start,
            ),
        ),
    ),
    Scenario(
        "auto_opt_in",
        "3. Auto opt-in",
        "A signed form can opt a customer in without a reply, and the signature is the evidence.",
        (
            Step(
                "Make Signature Required, turn double opt-in off and auto opt-in on, and save the form.",
                "Settings > Sign-up Forms: edit a form; Signature → Required; 'Do you want this form to send a "
                "double opt-in?' → No; 'Do you want to auto opt-in new sign-ups?' → Yes; Save sign-up form.",
                _auto_form,
            ),
            Step(
                "Sign up a new customer on that form, with a signature.",
                "Open the form's URL from Share this page; fill in the phone and type the full name as signature.",
                _auto_signup,
            ),
            Step(
                "Open the customer on Personas and look at the consent history: the signature is there.",
                "Personas: search the phone, click View, read Consent history.",
                _saw_evidence,
            ),
        ),
    ),
    Scenario(
        "noncompliant_request",
        "4. A compliant opt-in request",
        "Carriers filter promotional and regulated words; the editor refuses them.",
        (
            Step(
                'Type "20% off at the dispensary!" into the opt-in request: the editor refuses it.',
                "Configure > Texting Defaults: edit Opt-in request and read the errors; Save stays off.",
                _refused,
            ),
            Step(
                "Write a compliant opt-in request of your own and save it.",
                "Keep the brand, 'Reply Y or YES', message frequency, 'Msg & data rates may apply' and "
                "STOP; no offers, no regulated words.",
                _compliant_saved,
            ),
        ),
    ),
    Scenario(
        "pos_sync",
        "5. POS sync",
        "A POS sync asks synced contacts to opt in, from a date you choose, and can go back in time.",
        (
            Step(
                "Set the double opt-in date on a POS source.",
                "Settings > Integrations: 'Send an SMS double opt-in request if a contact with a phone number "
                "is synced from this source after' → pick today (or an earlier day) and click Save date.",
                _pos_date_set,
            ),
            Step(
                "Sync a POS export and see the opt-in requests go out (or queue for quiet hours).",
                "Settings > Integrations: upload a POS customer export (a CSV with a Phone column and numbers "
                "the shop doesn't know yet) to that source and click Sync; the result counts the requests.",
                _pos_synced,
            ),
            Step(
                "Move the date back in time and see more requests.",
                "Settings > Integrations: choose a date earlier than the saved one and click Save date: "
                "contacts synced between the two dates are asked too.",
                _pos_back_in_time,
            ),
        ),
    ),
    Scenario(
        "import_conflicts",
        "6. Import with conflicts",
        "An imported list never overrides an opt-out.",
        (
            Step(
                "Import a list in which some opted-out customers are marked opted in.",
                "Settings > Import: upload a CSV that has an opted-out customer's phone with opted_in = yes; "
                "attest and import. The report counts them as kept opted out.",
                _import_conflicts,
            ),
            Step(
                "Open one of those customers on Personas: still opted out.",
                "Personas: filter by opted out, click View.",
                _stayed_out,
            ),
        ),
    ),
    Scenario(
        "possible_opt_out",
        "7. A possible opt-out",
        '"Please stop texting me" is not a keyword, but it may revoke consent (FCC: act within 10 business days).',
        (
            Step(
                'As a customer, text "please stop texting me".',
                "Inbox > Simulator: pick an opted-in customer and send the sentence.",
                _possible_received,
            ),
            Step(
                "Confirm it as an opt-out before its deadline.",
                "Inbox > Possible opt-outs: Confirm opt-out.",
                _possible_confirmed,
            ),
        ),
    ),
)


def evaluate(session: Session) -> list[ScenarioResult]:
    """Each scenario's steps, green where the training database shows them done."""
    start = training.started_at(session)
    if start is None:
        return [
            ScenarioResult(s.key, s.title, s.goal, [StepResult(st.text, st.hint, False) for st in s.steps])
            for s in SCENARIOS
        ]
    ctx = Ctx(session=session, start=start, marks=training.marks(session))
    out = []
    for sc in SCENARIOS:
        results = []
        for step in sc.steps:
            try:
                done = bool(step.check(ctx))
            except Exception:  # a check never breaks the page; it is simply not green (and logged)
                log.exception("walkthrough check %r of %r failed", step.text, sc.key)
                done = False
            results.append(StepResult(step.text, step.hint, done))
        out.append(ScenarioResult(sc.key, sc.title, sc.goal, results))
    return out


@dataclass
class Overview:
    """Everything the Walkthrough page shows while a training runs."""

    results: list[ScenarioResult]
    trainee: str
    brand: str
    started: str  # "Training started 30 Nov 2026, 11:00 AM PST. Only what you do after that counts." ('' if unknown)
    today: dt.date  # the shop's day: the certificate's date

    @property
    def steps_done(self) -> int:
        return sum(s.done for r in self.results for s in r.steps)

    @property
    def steps_all(self) -> int:
        return sum(len(r.steps) for r in self.results)

    @property
    def fraction(self) -> float:
        return self.steps_done / self.steps_all if self.steps_all else 0.0

    @property
    def progress_text(self) -> str:
        done = sum(r.done for r in self.results)
        return f"{done} of {len(self.results)} scenarios done · {self.steps_done} of {self.steps_all} steps"

    @property
    def summary_lines(self) -> list[str]:
        return [f"{r.title}: {'done' if r.done else 'not yet'}" for r in self.results]

    def certificate_name(self, ext: str) -> str:
        return f"certificate-{self.today}.{ext}"


def overview(session: Session, *, now: Optional[dt.datetime] = None) -> Overview:
    """The training shop's progress, its trainee, and when training started (the shop's time, with its zone)."""
    from core.messaging import texting

    defaults = texting.get_defaults(session)
    started = training.started_at(session)
    return Overview(
        results=evaluate(session),
        trainee=training.trainee(session),
        brand=defaults.brand,
        started=(
            f"Training started {shop_time(started, defaults.timezone)}. Only what you do after that counts."
            if started
            else ""
        ),
        today=shop_date(now or utcnow(), defaults.timezone),
    )

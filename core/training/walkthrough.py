"""Compliance-training scenarios: steps a trainee performs in the real pages, each with a check.

Every check reads the training shop's database (and, for what leaves no other
trace — a template the editor refused, a customer opened on Personas — the
training marks the pages record). A check is green only when the state is
really reached, and only by what the trainee did after training started.
"""

from __future__ import annotations

import logging
import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlmodel import Session

from core.clock import shop_date, shop_time, utcnow
from core.training import training

log = logging.getLogger(__name__)

from core.training.checks import (
    Ctx,
    Scenario,
    ScenarioResult,
    Step,
    StepResult,
    auto_form,
    auto_signup,
    compliant_saved,
    confirmed_yes,
    import_conflicts,
    pos_back_in_time,
    pos_date_set,
    pos_synced,
    possible_confirmed,
    possible_received,
    refused,
    saw_evidence,
    saw_opted_in,
    signed_up_double,
    stayed_out,
    texted_start,
    texted_stop,
    told_to_text_start,
)


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
                signed_up_double,
            ),
            Step(
                "Reply YES from that phone in the Inbox.",
                "Inbox > Simulator: type the same phone, text YES to the Main number.",
                confirmed_yes,
            ),
            Step(
                "Find the customer on Personas and see the green ✓ next to SMS.",
                "Personas: search the phone, click View.",
                saw_opted_in,
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
                texted_stop,
            ),
            Step(
                "Have the same customer sign up again on the public form: the page says to text START.",
                "Public > Sign up with the same phone.",
                told_to_text_start,
            ),
            Step(
                "Text START from that phone: the customer is opted in again.",
                "Inbox > Simulator: text START.",
                texted_start,
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
                auto_form,
            ),
            Step(
                "Sign up a new customer on that form, with a signature.",
                "Open the form's URL from Share this page; fill in the phone and type the full name as signature.",
                auto_signup,
            ),
            Step(
                "Open the customer on Personas and look at the consent history: the signature is there.",
                "Personas: search the phone, click View, read Consent history.",
                saw_evidence,
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
                refused,
            ),
            Step(
                "Write a compliant opt-in request of your own and save it.",
                "Keep the brand, 'Reply Y or YES', message frequency, 'Msg & data rates may apply' and "
                "STOP; no offers, no regulated words.",
                compliant_saved,
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
                pos_date_set,
            ),
            Step(
                "Sync a POS export and see the opt-in requests go out (or queue for quiet hours).",
                "Settings > Integrations: upload a POS customer export (a CSV with a Phone column and numbers "
                "the shop doesn't know yet) to that source and click Sync; the result counts the requests.",
                pos_synced,
            ),
            Step(
                "Move the date back in time and see more requests.",
                "Settings > Integrations: choose a date earlier than the saved one and click Save date: "
                "contacts synced between the two dates are asked too.",
                pos_back_in_time,
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
                import_conflicts,
            ),
            Step(
                "Open one of those customers on Personas: still opted out.",
                "Personas: filter by opted out, click View.",
                stayed_out,
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
                possible_received,
            ),
            Step(
                "Confirm it as an opt-out before its deadline.",
                "Inbox > Possible opt-outs: Confirm opt-out.",
                possible_confirmed,
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

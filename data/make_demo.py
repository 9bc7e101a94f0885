"""Generate the demo shop's CSV files (deterministic: same seed, same files).

    python data/make_demo.py

The shop's history is produced by the app's own rules: customers are created and
every text is received or sent through core.customers, core.inbox and core.outbox
against a throw-away in-memory database, so each status, consent event and reply
is exactly what the rulebook would have recorded. The result is written as CSV
with times relative to a fixed moment (`days_ago` columns): core.demo.load_demo
turns them into "the last 90 days" whenever the demo is loaded.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sqlmodel import Session, select  # noqa: E402

from core.consent import customers
from core.signups import forms, signup
from core.messaging import inbox, outbox
from core import phones  # noqa: E402
from core.messaging import texting  # noqa: E402
from core.training import demo  # noqa: E402
from core.training.demo import ANCHOR_TIME  # noqa: E402
from core.bootstrap import init_db  # noqa: E402
from core.db import make_engine, run_write  # noqa: E402
from core.models import (  # noqa: E402
    Channel,
    ConsentEvent,
    Customer,
    FormSubmission,
    FormView,
    Message,
    MessageKind,
    MessageStatus,
    PossibleOptOut,
    SignupForm,
    SmsStatus,
    Source,
)

SEED = 20261130
BASE = dt.datetime.combine(dt.date(2026, 11, 30), ANCHOR_TIME)  # "now" of the generated history (naive UTC)
SPAN_DAYS = 90
N_CUSTOMERS = 300

TABLET_FORM = "in-store-tablet"
POS_SOURCES = {  # name -> (request_after: days ago, last sync: days ago)
    "Dutchie POS": (60, 0.2),
    "Treez": (25, 0.9),
}
IMPORT_FILES = {"textbase-export.csv": 84.3, "loyalty-list-october.csv": 31.6}

FIRST = """Olivia Liam Emma Noah Ava Elijah Sophia Mateo Isabella Lucas Mia Levi Amelia Ezra Harper Luca Evelyn
Asher Camila James Luna Leo Sofia Aiden Aria Kai Layla Jayden Nora Daniel Zoe Marcus Priya Wei Aisha Omar Hana Yuki
Diego Maya Carlos Fatima Andre Grace Samuel Ruby Theo Ivy Malik Jade Rosa Tyler Keisha Miguel Lily Ben Chloe Isaac
Stella Hugo Naomi Victor Alma Dev Tara Jamal Ines Ray Dana Cole Erin Felix Gwen""".split()
LAST = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson
Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell
Carter Roberts Patel Kim Chen Singh Okafor Cohen Rossi Silva Yamamoto Park Khan Novak Larsen""".split()
SPECIAL_NAMES = [  # apostrophes, accents, hyphens: the app must show them as typed
    ("Seán", "O'Brien"),
    ("José", "Núñez"),
    ("Zoë", "D'Angelo"),
    ("François", "Lefèvre"),
    ("Renée", "Müller"),
    ("Thảo", "Nguyễn"),
    ("Björn", "Åberg"),
    ("Mary-Kate", "O'Connor"),
    ("Siobhán", "McCarthy"),
    ("Chloé", "Dubois"),
    ("Ana", "García-López"),
    ("D'Shawn", "Williams"),
    ("Zoé", "Lachapelle"),
    ("Łukasz", "Wiśniewski"),
    ("Noëlle", "St. Pierre"),
    ("Ciarán", "Ó Súilleabháin"),
]
# Demo phones are fictional: 555-0100 to 555-0199 is reserved for fiction in every North American
# area code (never assigned to anyone), 100 lines per area code. 415 and 212 are left out: the
# shop's own numbers and the tests use 415-555-01XX and 212-555-01XX.
AREAS = [510] * 5 + [628] * 5 + [650] * 4 + [408] * 2 + [925] * 2 + [707] + [503, 206, 702, 312]
EMAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.com"]
ZIPS = ["94103", "94110", "94117", "94122", "94607", "94612", "94704", "94941", "95060", "94301", "94040"]
REASONS_OWNER_OPT_OUT = [
    "Asked in store not to be texted",
    "Asked by phone to stop texts",
    "Customer emailed asking to be removed",
]


class Gen:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.engine = make_engine("sqlite://")
        init_db(self.engine)
        self.s = Session(self.engine)
        self.d = texting.get_defaults(self.s)
        self.main = self.d.main_number
        self.join = self.d.join_number
        self.used_phones: set[str] = {self.main, self.join}
        self.main_form = forms.main_form(self.s)
        fields = dict(forms.DEFAULT_FIELDS, signature=forms.REQUIRED, zip=forms.OPTIONAL, last_name=forms.REQUIRED)
        self.tablet = forms.create(
            self.s,
            name="In-store tablet",
            slug=TABLET_FORM,
            fields=fields,
            double_opt_in=False,
            auto_opt_in=True,
            now=BASE - dt.timedelta(days=SPAN_DAYS + 5),
        )
        self.names = list(SPECIAL_NAMES)
        self.rng.shuffle(self.names)
        self.email_seen: set[str] = set()

    # --- pieces -----------------------------------------------------------------------
    def phone(self) -> str:
        while True:
            e164 = phones.normalize(f"+1{self.rng.choice(AREAS)}5550{self.rng.randint(100, 199)}")
            if e164 not in self.used_phones:
                self.used_phones.add(e164)
                return e164

    def person(self) -> dict:
        if self.names and self.rng.random() < 0.12:
            first, last = self.names.pop()
        else:
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        out = {"first_name": first, "last_name": last}
        if self.rng.random() < 0.7:
            local = _ascii(f"{first}.{last}").lower().replace("'", "").replace(" ", "")
            email = f"{local}@{self.rng.choice(EMAIL_DOMAINS)}"
            n = 2
            while email in self.email_seen:
                email = f"{local}{n}@{email.split('@')[1]}"
                n += 1
            self.email_seen.add(email)
            out["email"] = email
        if self.rng.random() < 0.55:
            out["birthday"] = dt.date(self.rng.randint(1955, 2004), self.rng.randint(1, 12), self.rng.randint(1, 28))
        if self.rng.random() < 0.6:
            out["zip"] = self.rng.choice(ZIPS)
        return out

    def day_time(self, days_ago: float) -> dt.datetime:
        """A moment on that day during shop hours (17:00-02:00 UTC = 9/10 am - 6/7 pm in California)."""
        day = (BASE - dt.timedelta(days=days_ago)).date()
        t = dt.datetime.combine(day, dt.time(17)) + dt.timedelta(
            minutes=self.rng.randint(0, 9 * 60 - 1), seconds=self.rng.randint(0, 59)
        )
        return min(t, BASE - dt.timedelta(minutes=self.rng.randint(20, 90)))

    def later(self, t: dt.datetime, lo_min: float, hi_min: float) -> dt.datetime | None:
        nxt = t + dt.timedelta(minutes=self.rng.uniform(lo_min, hi_min))
        return nxt if nxt < BASE - dt.timedelta(minutes=2) else None

    # --- actions through the app's rules ----------------------------------------------
    def text(self, phone: str, body: str, t: dt.datetime, *, to: str | None = None) -> None:
        inbox.receive(self.s, phone=phone, body=body, to=to or self.main, now=t)

    def customer(self, phone: str) -> Customer:
        c = self.s.exec(select(Customer).where(Customer.phone == phone)).one()
        self.s.refresh(c)
        return c

    def create(self, source: Source, t: dt.datetime, detail: str = "") -> Customer:
        phone = self.phone()
        return run_write(
            self.s,
            lambda: customers.create(self.s, phone=phone, source=source, now=t, source_detail=detail, **self.person()),
        )

    def rename(self, c: Customer, person: dict, t: dt.datetime) -> None:
        """Names typed in later (as update_details would, but at the story's time)."""

        def work():
            self.s.refresh(c)
            c.first_name, c.last_name = person["first_name"], person["last_name"]
            c.updated_at = max(c.updated_at, t)
            self.s.add(c)

        run_write(self.s, work)

    def replies(self, c: Customer, t: dt.datetime, script: list[tuple[str, float, float]]) -> dt.datetime | None:
        """The customer texts each body after a wait (minutes lo..hi); stops at "now"."""
        for body, lo, hi in script:
            nt = self.later(t, lo, hi)
            if nt is None:
                return None
            t = nt
            self.text(c.phone, body, t)
        return t

    def reply_story(self, c: Customer, t: dt.datetime) -> None:
        """What a pending customer does next (no reply, YES, YES then STOP, ...)."""
        r = self.rng.random()
        yes = self.rng.choice(["YES", "Yes", "yes", "Y", "y", "Yes!", "YES."])
        stop = self.rng.choice(["STOP", "Stop", "stop", "STOP.", "Unsubscribe", "Cancel", "quit"])
        if r < 0.25:  # still pending (some for more than 7 days: the Member Club report)
            if self.rng.random() < 0.35:  # the owner resends the request once
                st = self.later(t, 60 * 24 * 3, 60 * 24 * 10)
                if st is not None:
                    customers.request_opt_in(self.s, customer_id=c.id, now=st)
            return
        if r < 0.70:
            self.replies(c, t, [(yes, 1, 600)])
        elif r < 0.80:
            self.replies(c, t, [(yes, 1, 300), ("HELP", 60 * 24, 60 * 24 * 20)])
        elif r < 0.93:
            self.replies(c, t, [(yes, 1, 300), (stop, 60 * 24 * 2, 60 * 24 * 30)])
        else:
            self.replies(c, t, [(yes, 1, 300), (stop, 60 * 24, 60 * 24 * 10), ("START", 60 * 24, 60 * 24 * 14)])

    # --- customers by source ----------------------------------------------------------
    def signup_form(self) -> None:
        """A customer fills in a sign-up form (core.signup.submit: the rules of §6)."""
        t = self.day_time(self.rng.uniform(0.3, SPAN_DAYS))
        tablet = self.rng.random() < 0.25  # the in-store tablet: auto opt-in with a typed signature
        p = self.person()
        phone = self.phone()
        answers = {
            "first_name": p["first_name"],
            "last_name": p["last_name"],
            "email": p.get("email", ""),
            "phone": phones.format_display(phone) if self.rng.random() < 0.7 else phone[2:],
            "birthday": p.get("birthday"),
            "zip": p.get("zip", ""),
        }
        if tablet or self.rng.random() < 0.3:
            answers["signature"] = f"{p['first_name']} {p['last_name']}"
        slug = self.tablet.slug if tablet else self.main_form.slug
        for _ in range(self.rng.randint(1, 3)):  # the page was opened before it was sent
            forms.record_view(self.s, form_id=self.tablet.id if tablet else self.main_form.id, now=t)
        # each customer on their own device, so the sign-up limits per device never hold the demo back
        signup.submit(self.s, form_slug=slug, answers=answers, now=t, client_address=f"demo-{phone}")
        c = self.customer(phone)
        if tablet:
            r = self.rng.random()
            if r < 0.12:
                self.replies(c, t, [("STOP", 60 * 24 * 3, 60 * 24 * 40)])
            elif r < 0.2:
                self.replies(c, t, [("HELP", 60, 60 * 24 * 10)])
            return
        self.reply_story(c, t)

    def form_views(self) -> None:
        """People who opened a sign-up page and did not send it."""
        for _ in range(160):
            form = self.main_form if self.rng.random() < 0.8 else self.tablet
            forms.record_view(self.s, form_id=form.id, now=self.day_time(self.rng.uniform(0.3, SPAN_DAYS)))

    def text_to_join(self) -> None:
        t = self.day_time(self.rng.uniform(0.3, SPAN_DAYS))
        phone = self.phone()
        word = self.rng.choice(["JOIN", "JOIN", "Join", "join"])
        self.text(phone, word, t, to=self.join)
        c = self.customer(phone)
        details = self.person()
        details.pop("birthday", None)
        if self.rng.random() < 0.5:  # later gave a name at the counter
            self.rename(c, details, t)
        self.reply_story(self.customer(phone), t)

    def csv_import(self, file: str, days_ago: float, row: int) -> None:
        t = BASE - dt.timedelta(days=days_ago)
        c = self.create(Source.csv_import, t, file)
        r = self.rng.random()
        if r < 0.55:
            run_write(
                self.s,
                lambda: customers.set_status(
                    self.s,
                    c,
                    SmsStatus.opted_in,
                    channel=Channel.csv_import,
                    evidence={"file": file, "row": row, "attested": True, "by": "owner"},
                    now=t,
                ),
            )
            r2 = self.rng.random()
            if r2 < 0.1:
                self.replies(c, t, [("STOP", 60 * 24, 60 * 24 * 60)])
            elif r2 < 0.18:
                self.replies(c, t, [("HELP", 60 * 24, 60 * 24 * 60)])
        elif r < 0.7:
            run_write(
                self.s,
                lambda: customers.set_status(
                    self.s,
                    c,
                    SmsStatus.opted_out,
                    channel=Channel.csv_import,
                    evidence={"file": file, "row": row, "by": "owner"},
                    now=t,
                ),
            )
        elif r < 0.85:
            # no status in the file: the owner later sends an opt-in request from the dashboard
            rt = self.later(t, 60 * 24, 60 * 24 * 20)
            if rt is not None:
                customers.request_opt_in(self.s, customer_id=c.id, now=rt)
                self.reply_story(self.customer(c.phone), rt)
        # else: no status, left not opted in

    def pos_sync(self) -> None:
        name = self.rng.choice(list(POS_SOURCES))
        t = self.day_time(self.rng.uniform(0.3, SPAN_DAYS))
        c = self.create(Source.pos_sync, t, name)
        request_after = (BASE - dt.timedelta(days=POS_SOURCES[name][0])).date()
        if t.date() <= request_after:
            if self.rng.random() < 0.15:  # later walked in and texted the main number
                self.replies(c, t, [("START", 60 * 24, 60 * 24 * 30)])
            return

        def work():
            msg = outbox.send(self.s, customer=c, kind=MessageKind.opt_in_request, now=t, bulk=True, defaults=self.d)
            if msg.status is not MessageStatus.blocked:
                customers.set_status(
                    self.s,
                    c,
                    SmsStatus.pending,
                    channel=Channel.pos_sync,
                    evidence={"pos_source": name, "action": "opt-in request after sync"},
                    now=t,
                )

        run_write(self.s, work)
        self.reply_story(self.customer(c.phone), t)

    def dashboard(self) -> None:
        t = self.day_time(self.rng.uniform(0.3, SPAN_DAYS))
        phone = self.phone()
        c = customers.add_customer(self.s, phone=phone, now=t, **self.person())
        r = self.rng.random()
        if r < 0.3:
            return  # added by hand, never asked
        rt = self.later(t, 1, 30)
        if rt is None:
            return
        customers.request_opt_in(self.s, customer_id=c.id, now=rt)
        if r < 0.45:  # asked in store not to be texted
            ot = self.later(rt, 60, 60 * 24 * 5)
            if ot is not None:
                customers.record_opt_out(
                    self.s, customer_id=c.id, reason=self.rng.choice(REASONS_OWNER_OPT_OUT), now=ot
                )
                # an opt-in request tried later is blocked and logged with the carrier's reason
                bt = self.later(ot, 60 * 24, 60 * 24 * 10)
                if bt is not None and self.rng.random() < 0.5:
                    customers.request_opt_in(self.s, customer_id=c.id, now=bt)
            return
        if r < 0.6:  # no answer: a second request after a few days, then a third one the rules refuse
            st = self.later(rt, 60 * 24 * 2, 60 * 24 * 6)
            if st is not None:
                customers.request_opt_in(self.s, customer_id=c.id, now=st)
                tt = self.later(st, 60 * 24 * 2, 60 * 24 * 6)
                if tt is not None and self.rng.random() < 0.5:
                    customers.request_opt_in(self.s, customer_id=c.id, now=tt)
            return
        self.reply_story(self.customer(phone), rt)

    def inbound_sms(self) -> None:
        t = self.day_time(self.rng.uniform(0.3, SPAN_DAYS))
        phone = self.phone()
        r = self.rng.random()
        if r < 0.45:
            self.text(phone, self.rng.choice(["START", "Start", "YES", "yes"]), t)
            c = self.customer(phone)
            self.reply_story(c, t)
        elif r < 0.65:
            self.text(phone, self.rng.choice(["STOP", "stop", "UNSUBSCRIBE"]), t)
        elif r < 0.85:
            self.text(phone, self.rng.choice(["HELP", "Help", "INFO"]), t)
        else:
            self.text(phone, "START", t)
            c = self.customer(phone)
            self.replies(c, t, [("YES", 1, 120), ("STOP", 60 * 24 * 3, 60 * 24 * 20)])
        c = self.s.exec(select(Customer).where(Customer.phone == phone)).first()
        if c is not None and self.rng.random() < 0.6:
            self.rename(c, self.person(), t)

    def extras(self) -> None:
        """Possible opt-outs for the review panel and a few messages from strangers."""
        opted_in = self.s.exec(
            select(Customer)
            .where(Customer.sms_status == SmsStatus.opted_in, Customer.status_changed_at < BASE - dt.timedelta(days=25))
            .order_by(Customer.id)
        ).all()
        picks = self.rng.sample(list(opted_in), 4)
        bodies = [
            ("please stop texting me", 1.3, None),
            ("Can you take me off this list? I want to opt out", 2.8, None),
            ("Stop sending these, thanks", 19.5, "confirm"),
            ("What time do you end happy hour on Friday?", 12.2, "dismiss"),
        ]
        for c, (body, days, decision) in zip(picks, bodies):
            t = self.day_time(days)
            self.text(c.phone, body, t)
            if decision:
                review = self.s.exec(select(PossibleOptOut).where(PossibleOptOut.customer_id == c.id)).one()
                dt_ = t + dt.timedelta(hours=self.rng.uniform(2, 30))
                if decision == "confirm":
                    inbox.decide_review(
                        self.s, review_id=review.id, confirm=True, reason="Customer asked to stop texts", now=dt_
                    )
                else:
                    inbox.decide_review(
                        self.s,
                        review_id=review.id,
                        confirm=False,
                        reason="Asking about happy hour, not opting out",
                        now=dt_,
                    )
        # the owner tries a third opt-in request: the rules refuse it and the log says why
        for c in self.s.exec(
            select(Customer)
            .where(Customer.opt_in_requests >= 2, Customer.sms_status == SmsStatus.pending)
            .order_by(Customer.id)
            .limit(2)
        ).all():
            t = self.later(c.last_request_at, 60 * 24 * 2, 60 * 24 * 4)
            if t is not None:
                customers.request_opt_in(self.s, customer_id=c.id, now=t)
        for days, body in ((4.6, "Are you open on Sunday?"), (33.1, "Do you have gift cards?")):
            self.text(self.phone(), body, self.day_time(days))

    def run(self) -> None:
        weights = [
            (self.signup_form, 80),
            (self.text_to_join, 40),
            (self.pos_sync, 70),
            (self.dashboard, 25),
            (self.inbound_sms, 27),
        ]
        plan = [fn for fn, n in weights for _ in range(n)]
        imports = N_CUSTOMERS - len(plan)
        files = list(IMPORT_FILES.items())
        for i in range(imports):
            file, days = files[0] if i < imports * 0.65 else files[1]
            plan.append(lambda file=file, days=days, row=i + 2: self.csv_import(file, days, row))
        self.rng.shuffle(plan)
        for fn in plan:
            fn()
        self.form_views()
        self.extras()
        self.stop_page_visitor()

    def stop_page_visitor(self) -> None:
        """Rulebook §10: a number nobody knew, typed into the public Stop texting me page: kept opted out,
        never texted (the last step, so the random story above it is unchanged)."""
        from core.consent import stop_page

        stop_page.submit(self.s, phone="+17135550142", client_address="demo", now=self.day_time(6.4))
        # another stranger stops texts, then changes their mind and texts START (only that lifts it)
        t = self.day_time(9.2)
        stop_page.submit(self.s, phone="+17135550143", client_address="demo", now=t)
        self.text("+17135550143", "START", t + dt.timedelta(days=2))


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _ago(t: dt.datetime | None) -> str:
    if t is None:
        return ""
    return f"{(BASE - t).total_seconds() / 86400:.6f}"


def _val(v) -> str:
    if v is None:
        return ""
    if hasattr(v, "value"):
        return v.value
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v)


def dump(g: Gen, out: Path) -> dict[str, int]:
    s = g.s
    rows_c = s.exec(select(Customer).order_by(Customer.id)).all()
    rows_e = s.exec(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    rows_m = s.exec(select(Message).order_by(Message.id)).all()
    rows_r = s.exec(select(PossibleOptOut).order_by(PossibleOptOut.id)).all()

    def write(name: str, header: list[str], rows: list[list]) -> None:
        with open(out / name, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)

    write(
        "customers.csv",
        [
            "key",
            "first_name",
            "last_name",
            "phone",
            "email",
            "birthday",
            "zip",
            "source",
            "source_detail",
            "sms_status",
            "days_ago",
            "status_changed_days_ago",
            "opt_in_requests",
            "last_request_days_ago",
            "updated_days_ago",
            "verified_birth_date",
        ],
        [
            [
                c.id,
                c.first_name,
                c.last_name,
                c.phone,
                c.email,
                _val(c.birthday),
                c.zip,
                c.source,
                c.source_detail,
                _val(c.sms_status),
                _ago(c.created_at),
                _ago(c.status_changed_at),
                c.opt_in_requests,
                _ago(c.last_request_at),
                _ago(c.updated_at),
                _val(demo.demo_verified_birth_date(c.id, c.source, c.birthday)),
            ]
            for c in rows_c
        ],
    )
    write(
        "consent_events.csv",
        ["customer_key", "phone", "old_status", "new_status", "days_ago", "channel", "evidence"],
        [
            [
                e.customer_id,
                e.phone,
                _val(e.old_status),
                _val(e.new_status),
                _ago(e.occurred_at),
                _val(e.channel),
                json.dumps(e.evidence, ensure_ascii=False, sort_keys=True),
            ]
            for e in rows_e
        ],
    )
    write(
        "messages.csv",
        [
            "key",
            "customer_key",
            "phone",
            "shop_number",
            "direction",
            "body",
            "kind",
            "status",
            "reason",
            "encoding",
            "segments",
            "days_ago",
            "send_days_ago",
            "sent_days_ago",
            "bulk",
        ],
        [
            [
                m.id,
                _val(m.customer_id),
                m.phone,
                m.shop_number,
                _val(m.direction),
                m.body,
                _val(m.kind),
                _val(m.status),
                m.reason,
                m.encoding,
                m.segments,
                _ago(m.created_at),
                _ago(m.send_at),
                _ago(m.sent_at),
                _val(m.bulk),
            ]
            for m in rows_m
        ],
    )
    write(
        "possible_opt_outs.csv",
        ["customer_key", "phone", "message_key", "body", "days_ago", "decision", "decided_days_ago", "reason"],
        [
            [
                r.customer_id,
                r.phone,
                _val(r.message_id),
                r.body,
                _ago(r.received_at),
                _val(r.decision),
                _ago(r.decided_at),
                r.reason,
            ]
            for r in rows_r
        ],
    )
    write(
        "signup_forms.csv",
        [
            "slug",
            "name",
            "is_main",
            "fields",
            "collects_sms",
            "double_opt_in",
            "auto_opt_in",
            "disclosure",
            "views",
            "submissions",
            "days_ago",
        ],
        [
            [
                f.slug,
                f.name,
                _val(f.is_main),
                json.dumps(f.fields, sort_keys=True),
                _val(f.collects_sms),
                _val(f.double_opt_in),
                _val(f.auto_opt_in),
                f.disclosure,
                f.views,
                f.submissions,
                "" if f.is_main else _ago(f.created_at),
            ]
            for f in s.exec(select(SignupForm).order_by(SignupForm.id)).all()
        ],
    )
    slug_of = {f.id: f.slug for f in s.exec(select(SignupForm)).all()}
    write(
        "form_submissions.csv",
        ["key", "form_slug", "customer_key", "disclosure_version", "outcome", "days_ago", "answers"],
        [
            [
                x.id,
                slug_of[x.form_id],
                _val(x.customer_id),
                x.disclosure_version,
                x.outcome,
                _ago(x.submitted_at),
                json.dumps(x.answers, ensure_ascii=False, sort_keys=True),
            ]
            for x in s.exec(select(FormSubmission).order_by(FormSubmission.id)).all()
        ],
    )
    write(
        "form_views.csv",
        ["form_slug", "days_ago", "views"],
        [
            [slug_of[v.form_id], (BASE.date() - v.day).days, v.views]
            for v in s.exec(select(FormView).order_by(FormView.form_id, FormView.day)).all()
        ],
    )
    write(
        "pos_sources.csv",
        ["name", "request_after_days_ago", "last_sync_days_ago"],
        [[name, after, last] for name, (after, last) in POS_SOURCES.items()],
    )
    return {
        "customers": len(rows_c),
        "consent_events": len(rows_e),
        "messages": len(rows_m),
        "possible_opt_outs": len(rows_r),
    }


def main() -> None:
    g = Gen()
    g.run()
    counts = dump(g, HERE)
    print(", ".join(f"{v} {k}" for k, v in counts.items()))


if __name__ == "__main__":
    main()

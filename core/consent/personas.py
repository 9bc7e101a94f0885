"""Personas: find customers fast and gather everything one customer's page shows.

Search pages are keyset-paginated, newest first by (created_at, id); counts are one SQL
aggregate. Nothing here loads all customers: every query is a LIMITed index walk, fast at
1,000,000 customers (bench/personas_bench.py measures it).

What a search box query matches:
- a phone in any format that is a whole number ("(415) 867-5309", "415.867.5309", "+1 415 867 5309")
  -> that phone exactly (the unique phone index);
- 4 or more digits that are not a whole number ("5309", "867-5309") -> phones ending in them
  (the last-4-digits index narrows, then a LIKE on the few rows left); 6 or more digits also
  match phones starting with them ("415 867" -> +1 415 867 ....);
- words -> first name, last name or email starting with the text (case-insensitive), or
  "first last" -> first name starting with the first word and last name with the rest.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

from sqlalchemy import and_, case, false, func, literal_column, or_
from sqlmodel import Session, col, select

from core import paging, phones
from core.consent import customers
from core.consent import evidence
from core.messaging import inbox
from core.clock import shop_time
from core.models import Channel, ConsentEvent, Customer, Message, MessageStatus, SmsStatus, Source
from core.text import clean_text
from core.errors import OwnerError
from core.staff.roles import Actor

MAX_QUERY = 100
MIN_PHONE_DIGITS = 4  # a partial phone: at least the last 4 digits
MIN_PREFIX_DIGITS = 6  # digits that may also be the start of a number (area code + exchange)
SPARSE = 5000  # up to this many matches are collected and sorted; more: walk the newest-first index

NEWEST_FIRST = paging.Keyset((Customer.created_at, Customer.id), descending=True)  # cursor: (created_at, id)

# The expressions the indexes in core/models.py are built on: a query must use them verbatim.
FIRST_LOWER = func.lower(Customer.first_name)
LAST_LOWER = func.lower(Customer.last_name)
EMAIL_LOWER = func.lower(Customer.email)
PHONE_LAST4 = func.substr(Customer.phone, func.length(Customer.phone) - literal_column("3"))

_PHONE_CHARS = re.compile(r"^[\d\s()+\-./]+$")


@dataclass(frozen=True)
class Query:
    """What a search box text means (pure: see parse_query)."""

    text: str = ""  # lowered, whitespace collapsed
    phone: str = ""  # an exact E.164 number
    digits: str = ""  # a partial phone: digits only
    hint: str = ""  # why nothing can match ("type at least 4 digits")

    @property
    def empty(self) -> bool:
        return not (self.text or self.phone or self.digits or self.hint)


def parse_query(query: Optional[str], region: str = "US") -> Query:
    """Decide whether the owner typed a phone, part of a phone, or words."""
    text = clean_text(query)[:MAX_QUERY].rstrip()  # no NUL, lone surrogate or bidi control reaches SQL
    if not text:
        return Query()
    if _PHONE_CHARS.match(text) and any(c.isdigit() for c in text):
        try:
            return Query(phone=phones.normalize(text, region))
        except phones.InvalidPhone:
            pass
        digits = re.sub(r"\D", "", text)
        if len(digits) < MIN_PHONE_DIGITS:
            return Query(hint=f"Type at least {MIN_PHONE_DIGITS} digits to find a phone number.")
        return Query(digits=digits)
    return Query(text=text)


def _ascii_lower(text: str) -> str:
    """Lower-case exactly as SQLite's lower() does (ASCII only)."""
    return "".join(c.lower() if c.isascii() else c for c in text)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _after_prefixes(prefix: str) -> Optional[str]:
    """The smallest string after every string that starts with `prefix` (None: there is none,
    the prefix is all U+10FFFF). Skips the surrogates, which no database stores."""
    while prefix and prefix[-1] == chr(sys.maxunicode):
        prefix = prefix[:-1]
    if not prefix:
        return None
    nxt = ord(prefix[-1]) + 1
    return prefix[:-1] + chr(0xE000 if 0xD800 <= nxt <= 0xDFFF else nxt)


def _starts_with(expr, prefix: str, dialect: str):
    """`expr` starts with `prefix`, written so an index on `expr` serves it.

    SQLite: a range on the (binary-collated) expression index. PostgreSQL: LIKE 'p%' on a
    text_pattern_ops index.
    """
    if dialect == "postgresql":
        return expr.like(func.lower(_escape_like(prefix)) + "%", escape="\\")
    prefix = _ascii_lower(prefix)
    upper = _after_prefixes(prefix)
    return expr >= prefix if upper is None else and_(expr >= prefix, expr < upper)


def _phone_starts_with(prefix: str):
    """On the unique phone index (E.164 is ASCII: a range is exact on both databases' C-like order)."""
    return and_(
        Customer.phone >= prefix,
        Customer.phone < _after_prefixes(prefix),
        Customer.phone.like(_escape_like(prefix) + "%", escape="\\"),
    )


def _match(q: Query, dialect: str, region: str):
    """The WHERE condition for a parsed query (None: everything)."""
    if q.phone:
        return Customer.phone == q.phone
    if q.hint:
        return false()
    if q.digits:
        ends = and_(PHONE_LAST4 == q.digits[-4:], Customer.phone.like("%" + q.digits))
        terms = [ends]
        if len(q.digits) >= MIN_PREFIX_DIGITS:
            import phonenumbers

            cc = str(phonenumbers.country_code_for_region(region) or "")
            terms.append(_phone_starts_with("+" + q.digits))
            if cc and not q.digits.startswith(cc):
                terms.append(_phone_starts_with(f"+{cc}{q.digits}"))
        return or_(*terms)
    if not q.text:
        return None
    text = q.text
    if "@" in text:
        return _starts_with(EMAIL_LOWER, text, dialect)
    terms = [
        _starts_with(FIRST_LOWER, text, dialect),
        _starts_with(LAST_LOWER, text, dialect),
        _starts_with(EMAIL_LOWER, text, dialect),
    ]
    words = text.split(" ")
    for i in range(1, min(len(words), 4)):  # "mary ann evans": (mary, ann evans), (mary ann, evans), ...
        first, last = " ".join(words[:i]), " ".join(words[i:])
        terms.append(and_(_starts_with(FIRST_LOWER, first, dialect), _starts_with(LAST_LOWER, last, dialect)))
    return or_(*terms)


def _values(items: Optional[Iterable[Any]], enum) -> list[str]:
    return sorted({enum(v).value for v in (items or [])})


def _unindexed(cond):
    """The same test, in a form SQLite cannot answer from an index (steers its planner)."""
    return case((cond, 1), else_=0) == 1


@dataclass
class _Where:
    dialect: str
    query: Query
    match: Any = None  # the search box condition (None: everything)
    filters: list = field(default_factory=list)  # status / source

    def conditions(self, *, walk_newest: bool = False) -> list:
        """The WHERE terms. SQLite picks indexes without statistics, so it is told which to use:
        - walk_newest: test each row while walking the created_at index (many matches);
        - with a search box match: answer the match from its index, test status/source per row."""
        conds = ([self.match] if self.match is not None else []) + list(self.filters)
        if self.dialect != "sqlite":
            return conds
        if walk_newest:
            return [_unindexed(c) for c in conds]
        if self.match is not None:
            return [self.match] + [_unindexed(c) for c in self.filters]
        return conds


def _where(session: Session, *, query: str, statuses, sources, region: Optional[str]) -> _Where:
    region = region or _region(session)
    dialect = session.get_bind().dialect.name
    q = parse_query(query, region)
    where = _Where(dialect=dialect, query=q, match=_match(q, dialect, region))
    status_values = _values(statuses, SmsStatus)
    if status_values:
        where.filters.append(col(Customer.sms_status).in_([SmsStatus(v) for v in status_values]))
    source_values = _values(sources, Source)
    if source_values:
        where.filters.append(col(Customer.source).in_(source_values))
    return where


def _conditions(session: Session, *, query: str, statuses, sources, region: Optional[str]):
    where = _where(session, query=query, statuses=statuses, sources=sources, region=region)
    return where.query, where.conditions()


def _region(session: Session) -> str:
    from core.messaging.texting import get_defaults

    return get_defaults(session).default_region


def _timezone(session: Session) -> str:
    from core.messaging.texting import get_defaults

    return get_defaults(session).timezone


def search(
    session: Session,
    *,
    query: str = "",
    statuses: Optional[Sequence[Any]] = None,
    sources: Optional[Sequence[Any]] = None,
    after: Optional[paging.Cursor] = None,
    limit: int = paging.PAGE_SIZE,
    region: Optional[str] = None,
) -> paging.Page:
    """One page of matching customers, newest first. `after` is the previous page's next_cursor.

    Without a search or filter: the created_at index, read newest first from the cursor on.
    With one, two plans: up to SPARSE matches are collected through the search's own indexes
    and sorted (a name, a phone, a rare status); past that, matches are dense enough that
    walking the created_at index and testing each row finds a page within a few thousand rows.
    """
    limit = paging.clamp(limit)
    where = _where(session, query=query, statuses=statuses, sources=sources, region=region)
    keyset = []
    if after is not None:
        created, last_id = after
        keyset.append(NEWEST_FIRST.after((created, int(last_id))))
    newest_first = NEWEST_FIRST.order_by()
    rows: Optional[list[Customer]] = None
    if where.match is None and not where.filters:
        stmt = select(Customer).where(*keyset).order_by(*newest_first).limit(limit + 1)
        rows = list(session.exec(stmt).all())
    else:
        # ids only: answered from the search's indexes without reading the rows
        hits = session.exec(select(Customer.id).where(*where.conditions()).limit(SPARSE + 1)).all()
        if len(hits) <= SPARSE:
            stmt = (
                select(Customer)
                .where(col(Customer.id).in_(list(hits)), *keyset)
                .order_by(*newest_first)
                .limit(limit + 1)
            )
        else:
            stmt = (
                select(Customer)
                .where(*where.conditions(walk_newest=True), *keyset)
                .order_by(*newest_first)
                .limit(limit + 1)
            )
        rows = list(session.exec(stmt).all()) if hits else []
    return paging.page_of(rows, limit=limit, keyset=NEWEST_FIRST, hint=where.query.hint)


def count(
    session: Session,
    *,
    query: str = "",
    statuses: Optional[Sequence[Any]] = None,
    sources: Optional[Sequence[Any]] = None,
    region: Optional[str] = None,
) -> int:
    """How many customers match, as one SQL aggregate."""
    where = _where(session, query=query, statuses=statuses, sources=sources, region=region)
    return int(session.exec(select(func.count()).select_from(Customer).where(*where.conditions())).one())


def table_rows(rows: Iterable[Customer], region: str = "US", timezone: str = "UTC") -> list[dict[str, Any]]:
    """What the Personas table shows for each customer (plain text, nothing rendered); "created" is the
    shop's day (`timezone`)."""
    out = []
    for c in rows:
        status = SmsStatus(c.sms_status)
        try:
            source = Source(c.source).label
        except ValueError:
            source = c.source
        out.append(
            {
                "id": c.id,
                "name": c.name or "(no name)",
                "phone": phones.format_display(c.phone, region),
                "email": c.email,
                "source": source,
                "created": shop_time(c.created_at, timezone, date_only=True),
                "status": status,
                "sms": status.badge,
            }
        )
    return out


# --- One customer -----------------------------------------------------------------------


@dataclass
class CustomerView:
    customer: Customer
    status: SmsStatus
    sentence: str  # "Opted out by texting STOP on 29 Nov 2026, 6:02 AM PST."
    phone_display: str
    source_label: str
    timezone: str  # the shop's: every time on the page is shown in it, with its zone
    ledger: list[tuple[ConsentEvent, str]] = field(default_factory=list)  # newest first, with evidence
    thread: list[Message] = field(default_factory=list)  # oldest first
    request_refusal: str = ""  # why "Send opt-in request" is not allowed ('' = allowed)
    opt_out_refusal: str = ""  # why "Record opt-out" is not allowed ('' = allowed)

    @property
    def headline(self) -> str:
        """Under the name: 'phone · source · added 2 Dec 2026' (the shop's day)."""
        added = shop_time(self.customer.created_at, self.timezone, date_only=True)
        return f"{self.phone_display} · {self.source_label}" + (f" · added {added}" if added else "")

    @property
    def ledger_rows(self) -> list[dict[str, str]]:
        """The consent history table, newest first: when (shop time, with its zone), the change, how, evidence."""
        return [
            {
                "When": shop_time(event.occurred_at, self.timezone),
                "Change": f"{event.old_status.label if event.old_status else '—'} → {event.new_status.label}",
                "How": channel_label(event.channel),
                "Evidence": evidence,
            }
            for event, evidence in self.ledger
        ]

    @property
    def can_request_opt_in(self) -> bool:
        return not self.request_refusal

    @property
    def can_record_opt_out(self) -> bool:
        return not self.opt_out_refusal


def view(
    session: Session, customer_id: int, *, now: Optional[dt.datetime] = None, thread_limit: int = 200
) -> CustomerView:
    """Everything the customer page shows; customers.NotFound when there is no such customer."""
    customer = customers.get(session, int(customer_id))
    session.refresh(customer)
    region = _region(session)
    timezone = _timezone(session)
    events = customers.ledger(session, customer.id)
    status = SmsStatus(customer.sms_status)
    try:
        source_label = Source(customer.source).label
    except ValueError:
        source_label = customer.source
    if customer.source_detail:
        source_label += f" ({customer.source_detail})"
    return CustomerView(
        customer=customer,
        status=status,
        sentence=evidence.status_sentence(customer, events[0] if events else None, timezone),
        phone_display=phones.format_display(customer.phone, region),
        source_label=source_label,
        timezone=timezone,
        ledger=[(e, evidence.describe_evidence(e)) for e in events],
        thread=inbox.thread(session, customer.phone, limit=thread_limit),
        request_refusal=customers.can_request_opt_in(session, customer, now),
        opt_out_refusal="This customer has already opted out." if status is SmsStatus.opted_out else "",
    )


from core.models import CHANNEL_LABELS  # noqa: E402  (the one source of channel labels)


def channel_label(channel: Any) -> str:
    """How a consent change came in, as the history table names it."""
    try:
        c = Channel(channel)
    except ValueError:
        return str(channel)
    return CHANNEL_LABELS.get(c) or c.label


# --- The page's actions ------------------------------------------------------------------


def add_problems(session: Session, *, phone: str, **details: Any) -> dict[str, str]:
    """What is wrong with a customer about to be added, by field: the phone and each detail, all at once
    (so the owner fixes them in one go). {} when it can be added."""
    from core.messaging.texting import get_defaults

    problems: dict[str, str] = {}
    try:
        phones.normalize_mobile(phone, get_defaults(session).default_region)
    except phones.NotAMobile as exc:
        problems["phone"] = exc.sentence
    except phones.InvalidPhone as exc:
        problems["phone"] = (
            "Type the customer's mobile phone number."
            if exc.reason == "empty"
            else f"That phone number can't be used: {exc.reason}."
        )
    try:
        customers.validate_details(**details)
    except customers.InvalidDetails as exc:
        problems.update(exc.errors)
    return problems


def add(session: Session, *, phone: str, by: Optional[Actor] = None, **details: Any) -> Customer:
    """Add a customer (not opted in) as `by`; customers.InvalidDetails naming every problem at once,
    roles.NotAllowed when their role may not."""
    problems = add_problems(session, phone=phone, **details)
    if problems:
        raise customers.InvalidDetails(problems)
    return customers.add_customer(session, phone=phone, by=by, **details)


@dataclass
class Outcome:
    """What an action on the customer's page did, as one sentence: `ok` False is shown as an error."""

    ok: bool
    sentence: str


def request_opt_in(
    session: Session, customer_id: int, *, now: Optional[dt.datetime] = None, by: Optional[Actor] = None
) -> Outcome:
    """ "Send opt-in request" on the customer's page, as `by`: sent, queued for quiet hours (with when, in
    shop time) or refused (with why, the role's refusal too)."""
    try:
        msg = customers.request_opt_in(session, customer_id=customer_id, now=now, by=by)
    except OwnerError as exc:  # CustomerError, roles.NotAllowed
        return Outcome(False, str(exc))
    if msg.status is MessageStatus.blocked:
        return Outcome(False, f"Not sent: {msg.reason}.")
    if msg.status is MessageStatus.queued:
        return Outcome(True, f"Opt-in request queued: it goes out on {shop_time(msg.send_at, _timezone(session))}.")
    return Outcome(True, "Opt-in request sent: the customer is pending until they reply Y or YES.")

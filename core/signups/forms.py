"""Sign-up forms (rulebook §6): the builder's storage, its rules, views and the public URL.

Services take a keyword-only `session` and raise FormError subclasses with a
sentence the owner understands. Submitting a form lives in core.signup.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import quote

from sqlalchemy import delete as sa_delete
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from core.clock import as_utc
from core.db import lock_for_write, run_write
from core.models import FormSubmission, FormView, SignupForm
from core.text import clean_text as _clean_line
from core.errors import OwnerError
from core import activity
from core.staff.roles import Actor, allow

# The fields a form may show, in the order it shows them, with their labels.
FIELDS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Mobile phone",
    "email": "Email",
    "birthday": "Birthday",
    "zip": "Zip code",
    "signature": "Signature",
}
REQUIRED, OPTIONAL, HIDDEN = "required", "optional", "hidden"
MODES = (REQUIRED, OPTIONAL, HIDDEN)
MODE_LABELS = {REQUIRED: "Required", OPTIONAL: "Optional", HIDDEN: "Hidden"}

DEFAULT_FIELDS: dict[str, str] = {
    "first_name": REQUIRED,
    "last_name": OPTIONAL,
    "phone": REQUIRED,
    "email": OPTIONAL,
    "birthday": OPTIONAL,
    "zip": HIDDEN,
    "signature": OPTIONAL,
}

MAIN_SLUG = "main"
MAIN_NAME = "Main sign-up form"
MAX_NAME = 100
MAX_SLUG = 60
MAX_DISCLOSURE = 2000
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

DISCLOSURE_TEMPLATE = (
    "By submitting this form, you agree to receive recurring automated marketing text messages "
    "from {brand} at the phone number provided. Consent is not a condition of purchase. "
    "Msg & data rates may apply. Msg frequency varies. Reply HELP for help, STOP to cancel."
)

# What a disclosure must say (rulebook §6), each with how to fix it when missing.
_DISCLOSURE_NEEDS: tuple[tuple[str, str], ...] = (
    (r"\b(marketing|promotional|recurring)\b", "say that these are recurring marketing texts"),
    (r"not\s+(a\s+)?condition\s+of\s+(any\s+)?purchase", 'say "Consent is not a condition of purchase"'),
    (r"\brates\b", 'add "Msg & data rates may apply"'),
    (r"\bstop\b", 'add how to opt out: "Reply STOP to cancel"'),
    (r"\bhelp\b", 'add "Reply HELP for help"'),
)


class FormError(OwnerError):
    """A sign-up form action that cannot be done; the message says why."""


class FormNotFound(FormError):
    pass


class MainFormProtected(FormError):
    """The main form is behind the Main sign-up URL and QR code: never deleted."""


class InvalidForm(FormError):
    """A form setting that cannot be saved; `field` names which."""

    def __init__(self, field: str, message: str):
        super().__init__(message, field)


class SlugTaken(InvalidForm):
    pass


class AutoOptInNeedsSignature(InvalidForm):
    """Auto opt-in enrols without a reply: the typed signature is the evidence (§6)."""


AUTO_OPT_IN_RULE = (
    "Auto opt-in needs Signature to be a Required field: "
    "make Signature Required in the field options, or turn auto opt-in off."
)


@dataclass(frozen=True)
class FormStats:
    form: SignupForm
    views: int
    submissions: int

    @property
    def conversion_rate(self) -> float:
        """Submissions per view (0 when never viewed), at most 100%."""
        if not self.views:
            return 0.0
        return min(1.0, self.submissions / self.views)


# --- Text helpers ------------------------------------------------------------------------


def default_disclosure(brand: str) -> str:
    return DISCLOSURE_TEMPLATE.format(brand=(brand or "").strip() or "our shop")


def disclosure_problems(text: str, brand: str) -> list[str]:
    """What a consent disclosure is missing (empty when compliant)."""
    missing = []
    if brand and brand.strip().lower() not in text.lower():
        missing.append(f"name your shop ({brand.strip()})")
    for pattern, fix in _DISCLOSURE_NEEDS:
        if not re.search(pattern, text, flags=re.IGNORECASE):
            missing.append(fix)
    return missing


def slugify(text: str) -> str:
    """'Spring Promo 2026!' -> 'spring-promo-2026' (ASCII letters, digits, hyphens)."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:MAX_SLUG].strip("-") or "form"


def public_url(base_url: str, slug: str) -> str:
    """The address customers open: BASE/signup?form=SLUG."""
    base = (base_url or "").strip().rstrip("/") or "http://localhost:8501"
    return f"{base}/signup?form={quote(slug, safe='-')}"


def app_address(page_url: Optional[str], page_path: str = "", host: Optional[str] = None) -> str:
    """Where the app runs, from the page's own address (or the Host header): the default base URL.

    'http://shop:8501/signup-forms' with page_path 'signup-forms' -> 'http://shop:8501'.
    """
    url = (page_url or "").strip().split("?")[0].split("#")[0].rstrip("/")
    if url.startswith(("http://", "https://")):
        if page_path and url.endswith("/" + page_path.strip("/")):
            url = url[: -len(page_path.strip("/")) - 1]
        return url
    host = (host or "").strip()
    if host and re.fullmatch(r"[A-Za-z0-9.\-]+(:\d+)?|\[[0-9a-fA-F:]+\](:\d+)?", host):
        return f"http://{host}"
    return "http://localhost:8501"


def field_modes(form: SignupForm) -> dict[str, str]:
    """Every field's mode (fields missing from the stored JSON are hidden)."""
    stored = form.fields or {}
    return {key: stored.get(key, HIDDEN) for key in FIELDS}


# --- Reading ------------------------------------------------------------------------------


def get(session: Session, form_id: int) -> SignupForm:
    form = session.get(SignupForm, form_id)
    if form is None:
        raise FormNotFound("That sign-up form no longer exists.")
    return form


def get_by_slug(session: Session, slug: Optional[str]) -> SignupForm:
    """The form at /signup?form=SLUG; the main form when `slug` is empty."""
    slug = (slug or "").strip().lower()
    if not slug:
        form = session.exec(select(SignupForm).where(SignupForm.is_main == True)).first()  # noqa: E712
    else:
        form = session.exec(select(SignupForm).where(SignupForm.slug == slug)).first()
    if form is None:
        raise FormNotFound("We couldn't find that sign-up form. The link may be old or mistyped.")
    return form


def main_form(session: Session) -> SignupForm:
    return get_by_slug(session, None)


def list_forms(session: Session) -> list[FormStats]:
    """Every form, the main form first, with its views, submissions and conversion rate."""
    rows = session.exec(
        select(SignupForm).order_by(col(SignupForm.is_main).desc(), SignupForm.name, SignupForm.id)
    ).all()
    return [FormStats(form=f, views=f.views or 0, submissions=f.submissions or 0) for f in rows]


# --- Writing -----------------------------------------------------------------------------


def ensure_main_form(session: Session) -> SignupForm:
    """The main form, created with the defaults when missing (no commit: bootstrap.init_db commits)."""
    form = session.exec(select(SignupForm).where(SignupForm.is_main == True)).first()  # noqa: E712
    if form is not None:
        return form
    from core.messaging.texting import ensure_defaults

    brand = ensure_defaults(session).brand
    slug = MAIN_SLUG
    if session.exec(select(SignupForm.id).where(SignupForm.slug == slug)).first() is not None:
        slug = _free_slug(session, MAIN_SLUG)
    form = SignupForm(
        name=MAIN_NAME,
        slug=slug,
        is_main=True,
        fields=dict(DEFAULT_FIELDS),
        collects_sms=True,
        double_opt_in=True,
        auto_opt_in=False,
        disclosure=default_disclosure(brand),
        disclosure_version=1,
    )
    session.add(form)
    session.flush()
    return form


def _brand(session: Session) -> str:
    from core.messaging.texting import get_defaults

    return get_defaults(session).brand


def _slug_taken(session: Session, slug: str, except_id: Optional[int]) -> bool:
    q = select(SignupForm.id).where(SignupForm.slug == slug)
    if except_id is not None:
        q = q.where(SignupForm.id != except_id)
    return session.exec(q).first() is not None


def _free_slug(session: Session, wanted: str) -> str:
    base = slugify(wanted)[: MAX_SLUG - 4].strip("-") or "form"
    if not _slug_taken(session, base, None):
        return base
    for n in range(2, 1000):
        candidate = f"{base}-{n}"
        if not _slug_taken(session, candidate, None):
            return candidate
    raise InvalidForm("slug", "Pick a different web address: too many forms share this one.")


def validate(session: Session, *, current: Optional[SignupForm], **changes: Any) -> dict[str, Any]:
    """Clean and check the settings of a form (the current values where not changed).

    Raises the first problem as InvalidForm (or SlugTaken / AutoOptInNeedsSignature).
    Returns every setting, cleaned.
    """
    unknown = set(changes) - {"name", "slug", "fields", "collects_sms", "double_opt_in", "auto_opt_in", "disclosure"}
    if unknown:
        raise InvalidForm(sorted(unknown)[0], f"{sorted(unknown)[0]} is not a sign-up form setting.")

    def pick(key: str, fallback: Any) -> Any:
        if key in changes:
            return changes[key]
        return getattr(current, key) if current is not None else fallback

    name = _clean_line(pick("name", ""))
    if not name:
        raise InvalidForm("name", 'Give the form a name (only you see it), e.g. "In-store tablet".')
    if len(name) > MAX_NAME:
        raise InvalidForm("name", f"Keep the form's name to {MAX_NAME} characters or fewer.")

    slug = _clean_line(pick("slug", "")).lower()
    if not slug:
        slug = slugify(name)
    if len(slug) > MAX_SLUG:
        raise InvalidForm("slug", f"Keep the web address to {MAX_SLUG} characters or fewer.")
    if not SLUG_RE.match(slug):
        raise InvalidForm(
            "slug",
            "The web address may use only lowercase letters, digits and single hyphens "
            "(like spring-promo), without spaces.",
        )
    if _slug_taken(session, slug, current.id if current is not None else None):
        raise SlugTaken("slug", f'Another form already uses the web address "{slug}"; pick another.')

    raw_fields = pick("fields", DEFAULT_FIELDS) or {}
    fields: dict[str, str] = {}
    for key in FIELDS:
        mode = str(raw_fields.get(key, HIDDEN)).strip().lower()
        if mode not in MODES:
            raise InvalidForm("fields", f"{FIELDS[key]} must be Required, Optional or Hidden.")
        fields[key] = mode
    extra = set(raw_fields) - set(FIELDS)
    if extra:
        raise InvalidForm("fields", f"{sorted(extra)[0]} is not a sign-up form field.")

    collects_sms = bool(pick("collects_sms", True))
    double_opt_in = bool(pick("double_opt_in", True))
    auto_opt_in = bool(pick("auto_opt_in", False))
    if not collects_sms:
        auto_opt_in = False  # nothing to opt in to
    if collects_sms and fields["phone"] != REQUIRED:
        raise InvalidForm("fields", "Phone must be Required while this form collects SMS consent.")
    if auto_opt_in and double_opt_in:
        raise InvalidForm(
            "auto_opt_in",
            "Auto opt-in is offered only when the form does not send a double opt-in: flip double opt-in to No first.",
        )
    if auto_opt_in and fields["signature"] != REQUIRED:
        raise AutoOptInNeedsSignature("auto_opt_in", AUTO_OPT_IN_RULE)
    if not any(mode != HIDDEN for mode in fields.values()):
        raise InvalidForm("fields", "Show at least one field.")

    disclosure = pick("disclosure", None)
    if disclosure is None:
        disclosure = default_disclosure(_brand(session))
    disclosure = "\n".join(_clean_line(line) for line in str(disclosure).replace("\r\n", "\n").split("\n")).strip()
    if len(disclosure) > MAX_DISCLOSURE:
        raise InvalidForm("disclosure", f"Keep the disclosure to {MAX_DISCLOSURE:,} characters or fewer.")
    if collects_sms:
        if not disclosure:
            raise InvalidForm("disclosure", "A form that collects SMS consent must show the consent disclosure.")
        missing = disclosure_problems(disclosure, _brand(session))
        if missing:
            raise InvalidForm("disclosure", "The consent disclosure must " + "; ".join(missing) + ".")

    return {
        "name": name,
        "slug": slug,
        "fields": fields,
        "collects_sms": collects_sms,
        "double_opt_in": double_opt_in,
        "auto_opt_in": auto_opt_in,
        "disclosure": disclosure,
    }


def _save(session: Session, build: Callable[[], SignupForm], by: Actor, what: str) -> SignupForm:
    """Run `build` under the forms' write lock, save what it returns, commit, hand it back fresh.
    `what` ("Created", "Changed", ...) starts its line in the activity trail."""

    def work() -> SignupForm:
        lock_for_write(session, "signup_form")
        form = build()
        session.add(form)
        session.flush()
        activity.record(session, by, activity.Kind.form, f"{what} the sign-up form “{form.name}”")
        return form

    form = run_write(session, work)
    session.refresh(form)
    return form


def create(
    session: Session, *, name: str, now: Optional[dt.datetime] = None, by: Optional[Actor] = None, **settings: Any
) -> SignupForm:
    """A new form (not the main one). Defaults: the main form's fields, double opt-in on."""
    by = allow(session, by, "change_forms")
    now = as_utc(now)

    def build() -> SignupForm:
        wanted = dict(settings)
        if not wanted.get("slug"):
            wanted["slug"] = _free_slug(session, _clean_line(name))
        clean = validate(session, current=None, name=name, **wanted)
        return SignupForm(**clean, is_main=False, disclosure_version=1, created_at=now, updated_at=now)

    return _save(session, build, by, "Created")


def update(
    session: Session, *, form_id: int, now: Optional[dt.datetime] = None, by: Optional[Actor] = None, **changes: Any
) -> SignupForm:
    """Save a form's settings together (nothing is saved when one is wrong).

    A changed disclosure text is a new version: submissions record the version they showed.
    """
    by = allow(session, by, "change_forms")
    now = as_utc(now)

    def build() -> SignupForm:
        form = get(session, form_id)
        session.refresh(form)
        clean = validate(session, current=form, **changes)
        if clean["disclosure"] != form.disclosure:
            form.disclosure_version = (form.disclosure_version or 1) + 1
        for key, value in clean.items():
            setattr(form, key, value)
        form.updated_at = now
        return form

    return _save(session, build, by, "Changed")


def duplicate(
    session: Session, *, form_id: int, now: Optional[dt.datetime] = None, by: Optional[Actor] = None
) -> SignupForm:
    """A copy of a form ("Copy of …", its own web address), never the main form itself."""
    by = allow(session, by, "change_forms")
    now = as_utc(now)

    def build() -> SignupForm:
        src = get(session, form_id)
        return SignupForm(
            name=f"Copy of {src.name}"[:MAX_NAME],
            slug=_free_slug(session, f"{src.slug}-copy"),
            is_main=False,
            fields=dict(src.fields or {}),
            collects_sms=src.collects_sms,
            double_opt_in=src.double_opt_in,
            auto_opt_in=src.auto_opt_in,
            disclosure=src.disclosure,
            disclosure_version=1,
            created_at=now,
            updated_at=now,
        )

    return _save(session, build, by, "Made")


def delete(session: Session, *, form_id: int, by: Optional[Actor] = None) -> str:
    """Delete a form with its view counts and submission rows; returns its name.

    Customers and their consent events stay (the events keep the form's name, the
    disclosure text and the signature). The main form is never deleted.
    """
    by = allow(session, by, "change_forms")

    def work() -> str:
        lock_for_write(session, "signup_form")
        form = get(session, form_id)
        if form.is_main:
            raise MainFormProtected(
                "The main sign-up form can't be deleted: it is the form behind the Main "
                "sign-up URL and QR code your customers already have. Edit it instead."
            )
        name = form.name
        session.execute(sa_delete(FormView).where(col(FormView.form_id) == form_id))
        session.execute(sa_delete(FormSubmission).where(col(FormSubmission.form_id) == form_id))
        session.delete(form)
        session.flush()
        activity.record(session, by, activity.Kind.form, f"Deleted the sign-up form “{name}”")
        return name

    return run_write(session, work)


def record_view(session: Session, *, form_id: int, now: Optional[dt.datetime] = None) -> None:
    """Count one view of a form: today's FormView row and the form's counter (commits)."""
    now = as_utc(now)
    day = now.date()

    def work() -> None:
        lock_for_write(session, f"form-view-{form_id}")
        get(session, form_id)
        row = session.exec(select(FormView).where(FormView.form_id == form_id, FormView.day == day)).first()
        if row is None:
            session.add(FormView(form_id=form_id, day=day, views=1))
        else:
            session.execute(sa_update(FormView).where(col(FormView.id) == row.id).values(views=FormView.views + 1))
        session.execute(sa_update(SignupForm).where(col(SignupForm.id) == form_id).values(views=SignupForm.views + 1))
        session.flush()

    run_write(session, work)
    session.expire_all()


def views_by_day(session: Session, *, form_id: int, since: dt.date) -> list[tuple[dt.date, int]]:
    rows = session.exec(
        select(FormView.day, FormView.views)
        .where(FormView.form_id == form_id, col(FormView.day) >= since)
        .order_by(FormView.day)
    ).all()
    return [(d, v) for d, v in rows]


def rate_text(rate: Optional[float]) -> str:
    """A conversion rate as the forms list shows it: '12%', or '—' before the first sign-up."""
    return f"{rate:.0%}" if rate else "—"

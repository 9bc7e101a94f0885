"""The carrier registration packet (10DLC): what a campaign registration form asks for, from the shop's
own settings, as one document (Markdown, and a PDF with real text and the forms' QR codes).

Carriers reject most campaigns for an unclear opt-in, so the packet spells out every way a customer
joins, the exact texts they receive with their keywords, and sample messages. What the settings cannot
say (the campaign description, three sample messages, the privacy sentence) the owner writes on the
Carrier registration page; they are kept in Setting "registration" as JSON.
`missing()` lists what must be filled in before the packet can be generated.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from sqlmodel import Session, col, select

from core import phones
from core.clock import as_utc
from core.consent import age, keywords
from core.db import lock_for_write, run_write
from core.models import MessageKind, PosSource, Setting, SignupForm
from core import activity
from core.staff.roles import Actor, allow
from core.text import clean_text

SETTING_KEY = "registration"
ANSWERS = ("campaign_description", "sample_1", "sample_2", "sample_3", "privacy_sentence")
ANSWER_LABELS = {
    "campaign_description": "Campaign description",
    "sample_1": "Sample message 1",
    "sample_2": "Sample message 2",
    "sample_3": "Sample message 3",
    "privacy_sentence": "Privacy sentence",
}
MIN_DESCRIPTION = 40
MAX_DESCRIPTION = 1000
MAX_SAMPLE = 320
MAX_PRIVACY = 500
DEFAULT_PRIVACY = (
    "{brand} does not sell, rent or share your mobile number or your consent to receive texts with "
    "third parties or affiliates for their marketing."
)
_LOCAL = re.compile(r"^https?://(localhost|127\.|0\.0\.0\.0|\[::1\])", re.IGNORECASE)


class RegistrationError(ValueError):
    """An answer that cannot be saved; `field` names which."""

    def __init__(self, field_: str, message: str):
        super().__init__(message)
        self.field = field_
        self.message = message


def suggestions(brand: str) -> dict[str, str]:
    """Starting points the page offers (the owner edits them; nothing is saved until they do)."""
    return {
        "campaign_description": (
            f"{brand} sends recurring marketing texts to customers who joined its text list: "
            "store news, new arrivals, events and opening hours. Customers join by a "
            "sign-up form, by texting a keyword, or at checkout, and confirm by replying YES."
        ),
        "sample_1": f"{brand}: new arrivals are in this week. Come see us! Reply STOP to opt out.",
        "sample_2": f"{brand}: we're open until 9pm all weekend. See you soon! Reply STOP to opt out.",
        "sample_3": f"{brand}: join us Saturday for our customer appreciation day. Reply HELP for help, STOP to opt out.",
        "privacy_sentence": DEFAULT_PRIVACY.format(brand=brand),
    }


def answers(session: Session) -> dict[str, str]:
    row = session.get(Setting, SETTING_KEY)
    stored: dict[str, Any] = {}
    if row is not None and row.value:
        try:
            stored = json.loads(row.value)
        except ValueError:
            stored = {}
    return {k: str(stored.get(k, "") or "") for k in ANSWERS}


def validate(values: dict[str, Any], brand: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in ANSWERS:
        text = clean_text(values.get(key, ""))
        label = ANSWER_LABELS[key]
        limit = {"campaign_description": MAX_DESCRIPTION, "privacy_sentence": MAX_PRIVACY}.get(key, MAX_SAMPLE)
        if len(text) > limit:
            raise RegistrationError(key, f"{label} is too long ({len(text):,} characters; at most {limit:,}).")
        if key.startswith("sample_") and text and brand.lower() not in text.lower():
            raise RegistrationError(
                key, f"{label} must name your shop ({brand}): carriers check that every sample says who sends it."
            )
        if key == "campaign_description" and text and len(text) < MIN_DESCRIPTION:
            raise RegistrationError(
                key,
                f"Say a little more in the campaign description (at least "
                f"{MIN_DESCRIPTION} characters): who gets the texts and what about.",
            )
        out[key] = text
    return out


def save_answers(session: Session, *, by: Optional[Actor] = None, **values: Any) -> dict[str, str]:
    """Save the owner's answers together, as `by` (roles: "registration"; nothing is saved when one is
    wrong or the role may not). Commits."""
    from core.messaging.texting import get_defaults

    by = allow(session, by, "registration")
    clean = validate(values, get_defaults(session).brand)

    def work() -> dict[str, str]:
        lock_for_write(session, "setting-registration")
        row = session.get(Setting, SETTING_KEY)
        if row is None:
            session.add(Setting(key=SETTING_KEY, value=json.dumps(clean)))
        else:
            row.value = json.dumps(clean)
            session.add(row)
        activity.record(session, by, activity.Kind.settings, "Saved the carrier registration answers")
        return clean

    return run_write(session, work)


# --- The packet ------------------------------------------------------------------------------------------


@dataclass
class FormEntry:
    name: str
    url: str
    double_opt_in: bool
    auto_opt_in: bool
    disclosure: str


@dataclass
class Packet:
    brand: str
    generated: dt.datetime
    help_contact: str
    main_number: str
    join_number: str
    join_keyword: str
    forms: list[FormEntry]
    pos_sources: list[str]
    texts: list[tuple[str, str, str]]  # (name, keywords, text)
    samples: list[str]
    description: str
    privacy: str
    min_age: int
    missing: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.missing


def _display(number: str, region: str) -> str:
    return phones.format_display(number, region) if number else ""


def _words(kind: str) -> str:
    want = {
        "opt_out": keywords.Keyword.OPT_OUT,
        "confirm": keywords.Keyword.CONFIRM,
        "resubscribe": keywords.Keyword.RESUBSCRIBE,
        "help": keywords.Keyword.HELP,
    }[kind]
    return ", ".join(w for w, k in keywords.KEYWORDS.items() if k is want)


def build(session: Session, *, base_url: str = "", now: Optional[dt.datetime] = None) -> Packet:
    """The packet from the shop's settings, with what is missing (no writes)."""
    from core.messaging import texting
    from core.signups import forms as forms_mod

    d = texting.get_defaults(session)
    region = d.default_region
    base = (d.base_url or base_url or "").strip()
    given = answers(session)
    rows = session.exec(
        select(SignupForm)
        .where(col(SignupForm.collects_sms) == True)  # noqa: E712
        .order_by(col(SignupForm.is_main).desc(), SignupForm.name)
    ).all()
    entries = [
        FormEntry(f.name, forms_mod.public_url(base, f.slug), f.double_opt_in, f.auto_opt_in, f.disclosure)
        for f in rows
    ]
    pos = [p.name for p in session.exec(select(PosSource).order_by(PosSource.name)).all()]
    texts = [
        (
            "Opt-in request (double opt-in)",
            _words("confirm") + " to confirm",
            texting.render(MessageKind.opt_in_request, None, d),
        ),
        (
            "Confirmation after opt-in",
            "sent after " + _words("confirm"),
            texting.render(MessageKind.opt_in_confirmation, None, d),
        ),
        ("Opt-out confirmation", _words("opt_out"), texting.render(MessageKind.opt_out_confirmation, None, d)),
        (
            "Resubscribe confirmation",
            _words("resubscribe"),
            texting.render(MessageKind.resubscribe_confirmation, None, d),
        ),
        ("Help reply", _words("help"), texting.render(MessageKind.help_reply, None, d)),
    ]
    required = age.min_age(session)
    if required:
        texts.append(
            (
                "Date of birth question (age gate)",
                "sent before any opt-in request",
                age.question_text(d.brand, required),
            )
        )
    p = Packet(
        brand=d.brand,
        generated=as_utc(now),
        help_contact=d.help_contact,
        main_number=_display(d.main_number, region),
        join_number=_display(d.join_number, region),
        join_keyword=d.join_keyword,
        forms=entries,
        pos_sources=pos,
        texts=texts,
        samples=[given[f"sample_{i}"] for i in (1, 2, 3) if given[f"sample_{i}"]],
        description=given["campaign_description"],
        privacy=given["privacy_sentence"],
        min_age=required,
    )
    p.missing = missing(p, base)
    return p


def missing(p: Packet, base: str) -> list[str]:
    """What must be filled in before the packet can be generated, each with where to do it."""
    out = []
    if not p.description:
        out.append("A campaign description (on this page): who gets the texts and what they are about.")
    if len(p.samples) < 3:
        out.append(f"Three sample messages (on this page): {len(p.samples)} written so far.")
    if not p.privacy:
        out.append("The privacy sentence (on this page): that you don't share numbers or consent.")
    if not p.help_contact:
        out.append("A support contact for HELP replies (Configure > Texting Defaults).")
    if not p.main_number:
        out.append("The shop's main number (Configure > Texting Defaults).")
    if not base or _LOCAL.match(base):
        out.append(
            "The public address of your sign-up pages, not localhost (Settings > Sign-up Forms > "
            "Share this page > Public address of this app): carriers open the form's link."
        )
    if not p.forms:
        out.append("A sign-up form that collects SMS consent (Settings > Sign-up Forms).")
    return out


class NotReady(RegistrationError):
    pass


def markdown(p: Packet) -> str:
    """The packet as Markdown (raises NotReady while something is missing)."""
    if not p.ready:
        raise NotReady("missing", "Fill in what is missing first: " + " ".join(p.missing))
    lines = [
        f"# Carrier registration packet: {p.brand}",
        "",
        f"Generated {p.generated.strftime('%d %b %Y').lstrip('0')} by Opt-In Desk from the shop's settings.",
        "",
        "## Brand",
        "",
        f"- Brand name: {p.brand}",
        f"- Support contact: {p.help_contact}",
        f"- Main number: {p.main_number}",
        "",
        "## Campaign description",
        "",
        p.description,
        "",
        "## How customers opt in",
        "",
    ]
    for f in p.forms:
        how = (
            "double opt-in: the customer gets a text and is subscribed only after replying YES"
            if f.double_opt_in
            else "single opt-in with a typed signature"
            if f.auto_opt_in
            else "details only, no texts until they opt in by text"
        )
        lines += [
            f"### Sign-up form: {f.name}",
            "",
            f"- Web address: {f.url}",
            "- QR code: printed in the store; it opens the web address above (see the PDF).",
            f"- Consent: {how}.",
            f'- Disclosure shown beside the button: "{f.disclosure}"',
            "",
        ]
    if p.join_number:
        lines += [
            "### Text To Join",
            "",
            f"Customers text {p.join_keyword} to {p.join_number}. They receive the opt-in request below and "
            "are subscribed only after replying YES.",
            "",
        ]
    if p.pos_sources:
        lines += [
            "### At checkout (POS sync)",
            "",
            f"Customers who give their mobile number at checkout ({', '.join(p.pos_sources)}) are sent one "
            "opt-in request text; they are subscribed only when they reply YES. A point-of-sale record "
            "never subscribes anyone by itself.",
            "",
        ]
    lines += [
        "## Age gate",
        "",
        (
            f"On: consent is taken only from customers {p.min_age} or older. Sign-up forms require a date of "
            "birth; Text To Join asks for it by text before sending the opt-in request. Under-age attempts are "
            "refused and nothing about them is stored."
        )
        if p.min_age
        else "Off: no minimum age is required.",
        "",
        "## Messages and keywords",
        "",
    ]
    for name, words, text in p.texts:
        lines += [f"### {name}", "", f"Keywords: {words}", "", f"> {text}", ""]
    lines += ["## Sample messages", ""]
    lines += [f"{i}. {s}" for i, s in enumerate(p.samples, 1)]
    lines += ["", "## Privacy", "", p.privacy, ""]
    return "\n".join(lines)


def _pdf_font(pdf) -> str:
    """DejaVu Sans when the machine has it (any character a template holds), else Helvetica (Latin-1)."""
    from pathlib import Path

    for folder in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu"):
        regular, bold = Path(folder, "DejaVuSans.ttf"), Path(folder, "DejaVuSans-Bold.ttf")
        if regular.exists() and bold.exists():
            pdf.add_font("DejaVu", "", str(regular))
            pdf.add_font("DejaVu", "B", str(bold))
            return "DejaVu"
    return "Helvetica"


def pdf(p: Packet) -> bytes:
    """The packet as a PDF: real text (selectable, searchable), each form's QR code beside its address."""
    from fpdf import FPDF

    from core.qr import qr_png

    text = markdown(p)  # raises NotReady
    doc = FPDF(format="Letter")
    doc.set_auto_page_break(True, margin=18)
    doc.add_page()
    font = _pdf_font(doc)
    latin = font == "Helvetica"

    def safe(s: str) -> str:
        return s.encode("latin-1", "replace").decode("latin-1") if latin else s

    forms_by_url = {f.url: f for f in p.forms}
    width = doc.w - doc.l_margin - doc.r_margin
    for line in text.split("\n"):
        if line.startswith("# "):
            doc.set_font(font, "B", 17)
            doc.multi_cell(width, 9, safe(line[2:]), new_x="LMARGIN", new_y="NEXT")
        elif line.startswith("## "):
            doc.ln(3)
            doc.set_font(font, "B", 13)
            doc.multi_cell(width, 7, safe(line[3:]), new_x="LMARGIN", new_y="NEXT")
        elif line.startswith("### "):
            doc.set_font(font, "B", 11)
            doc.multi_cell(width, 6, safe(line[4:]), new_x="LMARGIN", new_y="NEXT")
        elif line.startswith("> "):
            doc.set_font(font, "", 10)
            doc.set_fill_color(240, 240, 240)
            doc.multi_cell(width, 5.5, safe(line[2:]), fill=True, new_x="LMARGIN", new_y="NEXT")
        elif not line.strip():
            doc.ln(2)
        else:
            doc.set_font(font, "", 10)
            doc.multi_cell(width, 5.5, safe(line), new_x="LMARGIN", new_y="NEXT")
            if line.startswith("- Web address: "):
                url = line[len("- Web address: ") :]
                if url in forms_by_url:
                    import io

                    if doc.get_y() + 34 > doc.h - 18:
                        doc.add_page()
                    doc.image(io.BytesIO(qr_png(url, box_size=4)), x=doc.l_margin, y=doc.get_y() + 1, w=30, h=30)
                    doc.set_y(doc.get_y() + 32)
    return bytes(doc.output())


def file_stem(brand: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", brand.lower()).strip("-") or "shop"
    return f"carrier-registration-{slug}"

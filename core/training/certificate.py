"""The walkthrough's completion certificate: a one-page PDF of real text, and the same page as a PNG.

The PDF is drawn with fpdf2: the trainee's name, the date and every scenario are text a reader can
select, copy and search (and a screen reader can read), in DejaVu Sans when the system has it
(any accent, ✓ and ✕), else in the PDF's built-in Helvetica (Latin-1; other characters become "?").
The PNG (Pillow) is the picture the page previews and offers for download.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Optional, Sequence

from core.training.walkthrough import ScenarioResult

MAX_NAME = 60  # characters of the trainee's name printed
TITLE = "Certificate of completion"
COURSE = "SMS consent compliance training"
FOOTER = "Opt-In Desk · double opt-in, STOP/START/HELP, quiet hours, opt-out wins"

GREEN, LIGHT_GREEN, RED = (22, 101, 52), (134, 239, 172), (185, 28, 28)
INK, MUTED, FAINT = (17, 24, 39), (75, 85, 99), (107, 114, 128)

FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/local/share/fonts",
    "/Library/Fonts",
    "C:/Windows/Fonts",
)


_PLAIN = str.maketrans({"·": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def _lines(trainee: str, results: Sequence[ScenarioResult], when: Optional[dt.date], brand: str) -> dict:
    """What the certificate says, the same on the PDF and the PNG."""
    when = when or dt.date.today()
    done = [r for r in results if r.done]
    return {
        "name": ((trainee or "").strip() or "Trainee")[:MAX_NAME],
        "course": COURSE + (f" · {brand}" if brand else ""),
        "summary": f"completed {len(done)} of {len(results)} scenarios on {when.strftime('%d %B %Y').lstrip('0')}",
    }


def _dejavu() -> Optional[str]:
    for folder in FONT_DIRS:
        path = Path(folder) / "DejaVuSans.ttf"
        if path.is_file():
            return str(path)
    return None


def pdf(*, trainee: str, results: Sequence[ScenarioResult], when: Optional[dt.date] = None, brand: str = "") -> bytes:
    """The certificate as a one-page A4 landscape PDF whose words are text."""
    from fpdf import FPDF

    say = _lines(trainee, results, when, brand)
    doc = FPDF(orientation="landscape", unit="pt", format="A4")
    doc.set_auto_page_break(False)
    doc.set_title(f"{TITLE}: {say['name']}")
    doc.set_author("Opt-In Desk")
    doc.set_subject(COURSE)
    font_file = _dejavu()
    if font_file:
        doc.add_font("DejaVu", "", font_file)
        family, marks = "DejaVu", ("✓", "✕")

        def text(s: str) -> str:
            return s
    else:  # the core fonts carry Latin-1 only
        family, marks = "Helvetica", ("Done", "Not yet")

        def text(s: str) -> str:
            s = s.translate(_PLAIN)
            return s.encode("latin-1", "replace").decode("latin-1")

    doc.add_page()
    w, h = doc.w, doc.h
    doc.set_draw_color(*GREEN)
    doc.set_line_width(5)
    doc.rect(18, 18, w - 36, h - 36)
    doc.set_draw_color(*LIGHT_GREEN)
    doc.set_line_width(1.2)
    doc.rect(29, 29, w - 58, h - 58)

    def center(y: float, s: str, size: float, color=INK) -> None:
        s = text(s)
        doc.set_font(family, size=size)
        while size > 10 and doc.get_string_width(s) > w - 120:  # a long name shrinks to fit the frame
            size -= 1
            doc.set_font(family, size=size)
        doc.set_text_color(*color)
        doc.set_xy(60, y)
        doc.cell(w - 120, size * 1.25, s, align="C")

    center(62, TITLE, 38, GREEN)
    center(118, say["course"], 19, MUTED)
    center(170, "This certifies that", 17, MUTED)
    center(198, say["name"], 34)
    center(258, say["summary"], 17, MUTED)
    y = 304.0
    step = min(28.0, (h - 110 - y) / max(1, len(results)))
    doc.set_font(family, size=15)
    gap = max(doc.get_string_width(m) for m in marks) + 10
    widest = max((doc.get_string_width(text(r.title)) for r in results), default=0)
    left = max(60, (w - gap - widest) / 2)  # the list is centred as a block
    for r in results:
        doc.set_text_color(*(GREEN if r.done else RED))
        doc.set_xy(left, y)
        doc.cell(gap, 20, marks[0] if r.done else marks[1])
        doc.set_text_color(*INK)
        doc.set_xy(left + gap, y)
        doc.cell(w - 60 - left - gap, 20, text(r.title))
        y += step
    center(h - 82, FOOTER, 12, FAINT)
    return bytes(doc.output())


def _font(size: int):
    from PIL import ImageFont

    for name in ("DejaVuSans.ttf", *(str(Path(d) / "DejaVuSans.ttf") for d in FONT_DIRS), "Arial.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def png(*, trainee: str, results: Sequence[ScenarioResult], when: Optional[dt.date] = None, brand: str = "") -> bytes:
    """The same certificate as a picture (A4 landscape at 140 dpi)."""
    from PIL import Image, ImageDraw

    say = _lines(trainee, results, when, brand)
    w, h = 1654, 1169
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    d.rectangle([30, 30, w - 30, h - 30], outline=GREEN, width=8)
    d.rectangle([48, 48, w - 48, h - 48], outline=LIGHT_GREEN, width=2)

    def center(y: int, s: str, size: int, fill=INK):
        font = _font(size)
        tw = d.textlength(s, font=font)
        d.text(((w - tw) / 2, y), s, font=font, fill=fill)

    center(110, TITLE, 64, GREEN)
    center(200, say["course"], 32, MUTED)
    center(290, "This certifies that", 30, MUTED)
    center(340, say["name"], 60)
    center(440, say["summary"], 30, MUTED)
    y = 520
    font = _font(28)
    for r in results:
        d.text((420, y), "✓" if r.done else "✕", font=font, fill=GREEN if r.done else RED)
        d.text((470, y), r.title, font=font, fill=INK)
        y += 48
    center(h - 130, FOOTER, 22, FAINT)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


__all__ = ["pdf", "png", "MAX_NAME"]

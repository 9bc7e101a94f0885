"""The printable Text To Join sign (rulebook §5, Texting Defaults): a PNG for the counter.

Pure functions, Pillow only (the QR code comes from core.qr). The sign shows the
brand, "Text JOIN to (415) 555-0142 to get our texts", a QR code that opens the
phone's SMS app addressed to the Text To Join number with the keyword typed in,
and the compliance small print.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from core import phones, qr

__all__ = ["SIGN_SIZE", "SMALL_PRINT", "headline", "text_to_join_sign"]

SIGN_SIZE = (1200, 1600)  # 3:4, prints well on US Letter or A4
SMALL_PRINT = "Msg & data rates may apply. Msg frequency varies. Reply HELP for help, STOP to cancel."

_INK = (17, 24, 39)
_BAND = (22, 101, 52)  # dark green
_WHITE = (255, 255, 255)
_MUTED = (75, 85, 99)
_MARGIN = 80
_QR_SIDE = 720  # the QR code's target width in pixels (quiet zone included)


def headline(keyword: str, number_display: str) -> str:
    """The sentence the sign is built around: 'Text JOIN to (415) 555-0142 to get our texts'."""
    return f"Text {keyword} to {number_display} to get our texts"


@lru_cache(maxsize=32)
def _font(size: int, bold: bool = False) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    names = (
        ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf") if bold else ("DejaVuSans.ttf", "LiberationSans-Regular.ttf")
    )
    for name in names:
        for path in (name, f"/usr/share/fonts/truetype/dejavu/{name}", f"/usr/share/fonts/truetype/liberation/{name}"):
            try:
                return ImageFont.truetype(path, size)
            except OSError:
                continue
    return ImageFont.load_default(size=size)  # Pillow's bundled font: the sign still renders anywhere


def _width(draw: ImageDraw.ImageDraw, text: str, font) -> int:
    left, _top, right, _bottom = draw.textbbox((0, 0), text, font=font)
    return right - left


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, max_width: int) -> list[str]:
    """Greedy word wrap; a single word wider than the line stays on its own line."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if not line or _width(draw, trial, font) <= max_width:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _fit(
    draw: ImageDraw.ImageDraw, text: str, *, size: int, min_size: int, max_width: int, max_lines: int, bold: bool
) -> tuple[object, list[str]]:
    """The largest font (from `size` down to `min_size`) at which `text` wraps into `max_lines` lines."""
    while True:
        font = _font(size, bold)
        lines = _wrap(draw, text, font, max_width)
        if (len(lines) <= max_lines and all(_width(draw, ln, font) <= max_width for ln in lines)) or size <= min_size:
            return font, lines
        size -= 4


def _centered(draw: ImageDraw.ImageDraw, lines: list[str], font, top: int, fill, *, gap: float = 1.2) -> int:
    """Draw `lines` centred from `top`; return the y below the last line."""
    width = SIGN_SIZE[0]
    step = int(font.size * gap) if hasattr(font, "size") else 40
    y = top
    for line in lines:
        x = (width - _width(draw, line, font)) // 2
        draw.text((x, y), line, font=font, fill=fill)
        y += step
    return y


def _qr_image(data: str, max_side: int) -> Image.Image:
    """The QR code at a whole number of pixels per module (stays sharp and scannable), at most `max_side`."""
    small = Image.open(io.BytesIO(qr.qr_png(data, box_size=1, border=4))).convert("L")
    scale = max(2, min(_QR_SIDE, max_side) // small.width)
    return small.resize((small.width * scale, small.height * scale), Image.NEAREST)


def text_to_join_sign(*, brand: str, number: str, keyword: str = "JOIN", region: str = "US") -> bytes:
    """A 1200x1600 PNG sign for the Text To Join number `number` (E.164).

    Raises core.qr.QRError when there is no number to put in the QR code.
    """
    keyword = " ".join((keyword or "JOIN").split()).upper() or "JOIN"
    uri = qr.sms_uri(number, keyword)
    display = phones.format_display(number, region)
    brand = " ".join((brand or "").split()) or "Our shop"

    width, height = SIGN_SIZE
    image = Image.new("RGB", SIGN_SIZE, _WHITE)
    draw = ImageDraw.Draw(image)
    text_width = width - 2 * _MARGIN

    # Brand band
    band_height = 230
    draw.rectangle((0, 0, width, band_height), fill=_BAND)
    font, lines = _fit(draw, brand, size=96, min_size=40, max_width=text_width, max_lines=2, bold=True)
    block = int(font.size * 1.2) * len(lines)
    _centered(draw, lines, font, (band_height - block) // 2 + 8, _WHITE)

    # Headline: "Text JOIN to" / "(415) 555-0142" / "to get our texts"
    y = band_height + 50
    font, lines = _fit(draw, f"Text {keyword} to", size=76, min_size=40, max_width=text_width, max_lines=1, bold=True)
    y = _centered(draw, lines, font, y, _INK)
    font, lines = _fit(draw, display, size=104, min_size=48, max_width=text_width, max_lines=1, bold=True)
    y = _centered(draw, lines, font, y, _BAND)
    font, lines = _fit(draw, "to get our texts", size=64, min_size=40, max_width=text_width, max_lines=1, bold=False)
    y = _centered(draw, lines, font, y, _INK)

    # QR code, centred in the space left above the small print
    small_font, small_lines = _fit(
        draw, SMALL_PRINT, size=34, min_size=22, max_width=text_width, max_lines=2, bold=False
    )
    small_top = height - _MARGIN - int(small_font.size * 1.25) * len(small_lines)
    caption_font = _font(36)
    room = small_top - 40 - y - int(caption_font.size * 1.6)
    code = _qr_image(uri, room - 20)
    qr_top = y + max(0, (room - code.height) // 2)
    image.paste(code, ((width - code.width) // 2, qr_top))
    _centered(draw, ["Scan with your phone's camera to text us"], caption_font, qr_top + code.height + 4, _MUTED)

    # Compliance small print
    draw.line((_MARGIN, small_top - 24, width - _MARGIN, small_top - 24), fill=(209, 213, 219), width=2)
    _centered(draw, small_lines, small_font, small_top, _MUTED, gap=1.25)

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()

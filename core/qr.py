"""QR codes as PNG bytes, and the SMS link a Text To Join QR code carries.

Pure functions, no I/O. Used by the Sign-up Forms page (a form's public URL)
and by Texting Defaults (the Text To Join sign).
"""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M

from core.errors import OwnerError

__all__ = ["qr_png", "sms_uri", "QRError"]

MAX_DATA = 1000  # far more than a URL or an SMS link needs; keeps the code scannable from a poster


class QRError(OwnerError):
    """Nothing (or too much) to put in a QR code."""


def qr_png(data: str, *, box_size: int = 10, border: int = 4) -> bytes:
    """A black-on-white PNG QR code holding `data` (error correction M: survives a smudge or a fold)."""
    data = (data or "").strip()
    if not data:
        raise QRError("There is nothing to put in the QR code.")
    if len(data) > MAX_DATA:
        raise QRError(f"That is too long for a QR code a phone can scan ({len(data):,} characters).")
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=max(1, int(box_size)), border=border)
    code.add_data(data)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def sms_uri(number: str, keyword: str = "") -> str:
    """What a Text To Join QR code holds: scanning it opens the phone's SMS app addressed to
    `number` (E.164) with `keyword` typed in, e.g. ``SMSTO:+14155550142:JOIN``.

    Why ``SMSTO:`` rather than ``sms:+1...?&body=JOIN``: ``SMSTO:number:message`` is the
    QR-code convention (ZXing's "barcode contents") that both the iPhone Camera app (iOS 11+)
    and Android's camera / Google Lens recognise and turn into "Text +1 415..." with the body
    filled in. The ``sms:`` URI is a web-link scheme whose body parameter differs by platform
    (``?body=`` on Android, ``&body=`` on iOS), so camera apps fill the keyword less reliably.
    """
    number = "".join(ch for ch in (number or "") if ch.isdigit() or ch == "+")
    if not number:
        raise QRError("Set the Text To Join number first (Configure > Texting Defaults).")
    keyword = " ".join((keyword or "").split())
    if ":" in keyword:  # ':' separates the fields of an SMSTO code
        raise QRError("The keyword cannot contain ':'.")
    return f"SMSTO:{number}:{keyword}"

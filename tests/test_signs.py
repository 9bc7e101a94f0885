"""core.messaging.signs: the printable Text To Join sign."""

from __future__ import annotations

import io

import pytest
import qrcode
from PIL import Image

from core import qr
from core.messaging import signs

NUMBER = "+14155550142"


def sign(**kw) -> Image.Image:
    kw = {"brand": "Green Leaf Goods", "number": NUMBER, "keyword": "JOIN", **kw}
    return Image.open(io.BytesIO(signs.text_to_join_sign(**kw)))


def test_the_sign_is_a_1200_by_1600_png():
    image = sign()
    assert image.format == "PNG" and image.size == (1200, 1600) == signs.SIGN_SIZE


def test_the_headline_reads_text_join_to_the_number():
    assert signs.headline("JOIN", "(415) 555-0142") == "Text JOIN to (415) 555-0142 to get our texts"


def test_the_qr_code_decodes_to_the_sms_link_for_the_number_and_keyword():
    from tests.qr_decode import decode_qr

    assert decode_qr(sign()) == qr.sms_uri(NUMBER, "JOIN") == "SMSTO:+14155550142:JOIN"


def _expected_matrix() -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(qr.sms_uri(NUMBER, "JOIN"))
    code.make(fit=True)
    return [[bool(v) for v in row] for row in code.get_matrix()]


def _modules_in(image: Image.Image, n: int) -> list[list[bool]]:
    """Read an n x n QR code back from the sign: its top-left finder pattern (7 modules wide) is the
    first dark run below the headline; then sample the centre of every module."""
    gray = image.convert("L")
    dark = lambda x, y: gray.getpixel((x, y)) < 128  # noqa: E731
    y = 600  # below "to get our texts"
    while not any(dark(x, y) for x in range(gray.width)):
        y += 1
    left = next(x for x in range(gray.width) if dark(x, y))
    run = next(i for i in range(gray.width - left) if not dark(left + i, y))
    step = run / 7
    return [[dark(int(left + (c + 0.5) * step), int(y + (r + 0.5) * step)) for c in range(n)] for r in range(n)]


def test_the_qr_code_holds_exactly_the_modules_of_the_sms_link():
    """The same check without a QR decoder: regenerate the matrix and compare module by module."""
    expected = _expected_matrix()
    assert _modules_in(sign(), len(expected)) == expected


def test_a_long_brand_and_a_foreign_number_still_fit_and_scan():
    from tests.qr_decode import decode_qr

    image = sign(brand="The Neighbourhood Goods Collective of San Francisco Bay", number="+442079460958")
    assert image.size == (1200, 1600)
    assert decode_qr(image) == "SMSTO:+442079460958:JOIN"


def test_no_number_is_a_clear_error():
    with pytest.raises(qr.QRError, match="Text To Join number"):
        signs.text_to_join_sign(brand="Shop", number="", keyword="JOIN")

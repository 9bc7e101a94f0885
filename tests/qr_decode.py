"""Read a QR code back, as a phone's camera would (zxing-cpp, the test extra)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp (the test extra) decodes the QR codes")


def decode_qr(image: bytes | Image.Image) -> str:
    """The text of the one QR code in a PNG (bytes) or a Pillow image; '' when none is found."""
    if isinstance(image, (bytes, bytearray)):
        image = Image.open(io.BytesIO(image))
    found = zxingcpp.read_barcodes(image.convert("RGB"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) <= 1, f"{len(found)} QR codes found"
    return found[0].text if found else ""

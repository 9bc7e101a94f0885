"""QR codes decode back to what they carry: a form's URL, the Text To Join SMS link."""

import pytest

from core.signups import forms
from core import qr
from tests.qr_decode import decode_qr as decode


def test_the_qr_code_is_a_png_that_decodes_back_to_the_forms_url():
    url = forms.public_url("https://shop.example.com", "spring-promo")
    png = qr.qr_png(url)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert decode(png) == "https://shop.example.com/signup?form=spring-promo"


def test_a_larger_box_size_gives_a_larger_image_that_still_decodes():
    url = forms.public_url("http://localhost:8501", "main")
    small, large = qr.qr_png(url, box_size=4), qr.qr_png(url, box_size=12)
    assert len(large) > len(small)
    assert decode(small) == decode(large) == url


def test_the_text_to_join_code_opens_the_sms_app_to_the_number_with_the_keyword():
    uri = qr.sms_uri("+14155550142", "JOIN")
    assert uri == "SMSTO:+14155550142:JOIN"
    assert decode(qr.qr_png(uri)) == "SMSTO:+14155550142:JOIN"


def test_the_sms_link_keeps_only_the_numbers_digits_and_refuses_what_it_cannot_carry():
    assert qr.sms_uri("+1 (415) 555-0142", " join ") == "SMSTO:+14155550142:join"
    with pytest.raises(qr.QRError):
        qr.sms_uri("", "JOIN")
    with pytest.raises(qr.QRError):
        qr.sms_uri("+14155550142", "A:B")


def test_nothing_or_too_much_is_refused():
    with pytest.raises(qr.QRError):
        qr.qr_png("  ")
    with pytest.raises(qr.QRError):
        qr.qr_png("x" * 5000)

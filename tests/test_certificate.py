"""The walkthrough's completion certificate: a one-page PDF whose words are real text, and a PNG."""

import datetime as dt
import io

import pytest

from core.training import certificate
from core.training.walkthrough import SCENARIOS, ScenarioResult, StepResult

pypdf = pytest.importorskip("pypdf", reason="pypdf (the test extra) reads the PDF's text")

WHEN = dt.date(2026, 11, 30)


def results(done_keys=("double_opt_in", "pos_sync")) -> list[ScenarioResult]:
    return [
        ScenarioResult(s.key, s.title, s.goal, [StepResult(st.text, st.hint, s.key in done_keys) for st in s.steps])
        for s in SCENARIOS
    ]


def pdf_text(pdf: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return len(reader.pages), reader.pages[0].extract_text()


def lines_with(text: str, words: str) -> list[str]:
    return [line for line in text.splitlines() if words in line]


def test_the_pdf_is_one_page_of_text_naming_the_trainee_the_date_and_every_scenario():
    pdf = certificate.pdf(trainee="Zoë O’Brien", results=results(), when=WHEN, brand="Green Leaf")
    assert pdf[:5] == b"%PDF-"
    pages, text = pdf_text(pdf)
    assert pages == 1
    assert "Certificate of completion" in text
    assert "Zoë O’Brien" in text  # selectable, searchable: not a picture of the name
    assert "SMS consent compliance training · Green Leaf" in text
    assert "completed 2 of 7 scenarios on 30 November 2026" in text
    for s in SCENARIOS:
        assert len(lines_with(text, s.title)) == 1, s.title
    assert lines_with(text, "1. Double opt-in")[0].startswith("✓")
    assert lines_with(text, "2. Opt-out and rejoin")[0].startswith("✕")
    assert lines_with(text, "5. POS sync")[0].startswith("✓")


def test_a_missing_name_reads_trainee_and_a_long_one_is_cut_to_60_characters_on_one_page():
    _, text = pdf_text(certificate.pdf(trainee="   ", results=results(), when=WHEN))
    assert "This certifies that\nTrainee\n" in text
    long_name = "Maximiliana " + "Q" * 80
    pages, text = pdf_text(certificate.pdf(trainee=long_name, results=results(), when=WHEN))
    assert pages == 1
    assert long_name[:60] in text and long_name[:61] not in text


def test_without_the_dejavu_font_the_pdf_falls_back_to_helvetica_and_stays_text(monkeypatch):
    monkeypatch.setattr(certificate, "_dejavu", lambda: None)
    pages, text = pdf_text(certificate.pdf(trainee="Zoë O’Brien", results=results(), when=WHEN, brand="Green Leaf"))
    assert pages == 1
    assert "Zoë O'Brien" in text  # Latin-1 kept; the curly apostrophe becomes a plain one
    assert "SMS consent compliance training - Green Leaf" in text
    assert lines_with(text, "1. Double opt-in")[0].startswith("Done")
    assert lines_with(text, "2. Opt-out and rejoin")[0].startswith("Not yet")


def test_the_png_is_an_a4_landscape_picture():
    from PIL import Image

    png = certificate.png(trainee="Robin <script>", results=results(), when=WHEN)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(png)).size == (1654, 1169)

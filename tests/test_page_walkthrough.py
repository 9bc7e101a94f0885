"""AppTest of the Walkthrough page: start, progress that follows the training shop, reset, leave."""

from pathlib import Path

from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from core import db
from core.messaging import inbox
from core.models import Customer, SmsStatus

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "walkthrough.py")


def page():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["owner_signed_in"] = True
    return at


def customers_in(engine):
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Customer)).one()


def start_training(at, name="Robin"):
    at.run()
    at.text_input(key="trainee_name").input(name)
    [submit] = [b for b in at.button if "Start a walkthrough" in b.label]
    submit.click().run()
    assert not at.exception, at.exception
    return at


def test_signed_out_the_walkthrough_page_shows_nothing_but_sign_in():
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert [e.value for e in at.error] == ["Sign in to see this page."]
    assert not at.button


def test_starting_a_walkthrough_switches_to_a_seeded_training_shop_and_leaves_the_real_one_alone(app_db):
    at = start_training(page())
    url = at.session_state["training_db_url"]
    assert ".training-" in url
    assert any("Training shop" in w.value for w in at.warning)
    titles = [e.label for e in at.expander]
    assert sum(t.startswith(("1.", "2.", "3.", "4.", "5.", "6.", "7.")) for t in titles) == 7
    assert "0 of 7 scenarios done" in at.get("progress")[0].proto.text

    train = db.make_engine(url)
    assert customers_in(train) > 100
    assert customers_in(app_db) == 0  # the real shop is untouched

    # the trainee does scenario 7 step 1 "in the inbox" (here: through core, on the training shop)
    with Session(train) as s:
        c = s.exec(select(Customer).where(Customer.sms_status == SmsStatus.opted_in)).first()
        inbox.receive(s, phone=c.phone, body="please stop texting me")
    at.button(key="check_again").click().run()
    seven = [e for e in at.expander if e.label.startswith("7.")][0]
    assert "1/2 steps" in seven.label
    assert customers_in(app_db) == 0
    train.dispose()


def test_reset_starts_the_training_shop_afresh_and_leave_returns_to_the_real_shop(app_db):
    at = start_training(page())
    url = at.session_state["training_db_url"]
    train = db.make_engine(url)
    with Session(train) as s:
        inbox.receive(s, phone="+14155550987", body="JOIN", to="+14155550142")
    before = customers_in(train)
    train.dispose()
    at.button(key="reset_training").click().run()
    assert not at.exception
    train = db.make_engine(url)
    assert customers_in(train) == before - 1
    train.dispose()
    at.button(key="leave_training").click().run()
    assert "training_db_url" not in at.session_state
    assert [b for b in at.button if "Start a walkthrough" in b.label]


def test_the_certificate_can_be_downloaded_as_pdf_and_png(app_db):
    at = start_training(page(), name="Robin")
    downloads = at.get("download_button")
    assert len(downloads) == 2

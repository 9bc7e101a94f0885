"""AppTest: Settings > Sign-up Forms — the help article's steps work as written (§6)."""

from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.signups import forms
from core.messaging import texting
from core.models import SignupForm

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "signup_forms.py")


@pytest.fixture
def at(app_db):
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.session_state["owner_signed_in"] = True
    app.run()
    assert not app.exception
    return app


def _main(app_db) -> SignupForm:
    with Session(app_db) as s:
        return forms.main_form(s)


def _labels(app, kind):
    return [w.label for w in getattr(app, kind)]


def _texts(app, kind):
    return [w.value for w in getattr(app, kind)]


def test_signed_out_the_page_shows_nothing_but_sign_in(app_db):
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.run()
    assert not app.exception
    assert "Sign in to see this page." in _texts(app, "error")
    assert not app.button and not app.toggle


def test_the_main_form_is_listed_with_views_submissions_and_conversion_rate(at, app_db):
    assert at.title[0].value == "Sign-up Forms"
    main = _main(app_db)
    assert at.button(key=f"sf_edit_{main.id}") and at.button(key=f"sf_dup_{main.id}")
    md = " ".join(_texts(at, "markdown"))
    assert "Main sign-up form" in md and "Views" in md and "Submissions" in md and "Conversion rate" in md


def test_the_auto_opt_in_toggle_appears_only_when_double_opt_in_is_no(at, app_db):
    fid = _main(app_db).id
    assert "Do you want this form to send a double opt-in?" in _labels(at, "toggle")
    assert at.toggle(key=f"sf_{fid}_double").value is True  # default Yes
    assert "Do you want to auto opt-in new sign-ups?" not in _labels(at, "toggle")
    at.toggle(key=f"sf_{fid}_double").set_value(False).run()
    assert "Do you want to auto opt-in new sign-ups?" in _labels(at, "toggle")
    assert any("needs **Signature** to be a **Required** field" in c for c in _texts(at, "caption"))
    at.toggle(key=f"sf_{fid}_double").set_value(True).run()
    assert "Do you want to auto opt-in new sign-ups?" not in _labels(at, "toggle")


def test_save_is_refused_unless_signature_is_required_and_then_the_articles_steps_save(at, app_db):
    fid = _main(app_db).id
    at.toggle(key=f"sf_{fid}_double").set_value(False).run()
    at.toggle(key=f"sf_{fid}_auto").set_value(True).run()
    assert any("Signature is not Required yet" in c for c in _texts(at, "caption"))
    at.button(key=f"sf_{fid}_save").click().run()
    assert not at.exception
    assert any("Auto opt-in needs Signature to be a Required field" in e for e in _texts(at, "error"))
    main = _main(app_db)
    assert main.double_opt_in and not main.auto_opt_in  # nothing saved

    # Step 3: make Signature a "Required" field; steps 4-5 are still set; step 6: Save sign-up form
    at.segmented_control(key=f"sf_{fid}_field_signature").set_value("Required").run()
    at.button(key=f"sf_{fid}_save").click().run()
    assert not at.exception and not at.error
    main = _main(app_db)
    assert main.auto_opt_in and not main.double_opt_in and main.fields["signature"] == "required"
    assert any("Saved" in s for s in _texts(at, "success"))


def test_phone_cannot_be_made_optional_while_the_form_collects_sms_consent(at, app_db):
    fid = _main(app_db).id
    at.segmented_control(key=f"sf_{fid}_field_phone").set_value("Optional").run()
    at.button(key=f"sf_{fid}_save").click().run()
    assert any("Phone must be Required" in e for e in _texts(at, "error"))
    assert _main(app_db).fields["phone"] == "required"


def test_a_changed_disclosure_is_announced_as_a_new_version_and_saved_as_one(at, app_db):
    main = _main(app_db)
    at.text_area(key=f"sf_{main.id}_disclosure").input(main.disclosure + " Privacy: shop.example/privacy").run()
    assert any("new version of the disclosure (v2)" in i for i in _texts(at, "info"))
    at.button(key=f"sf_{main.id}_save").click().run()
    assert _main(app_db).disclosure_version == 2


def test_a_bad_slug_is_refused_with_a_message(at, app_db):
    fid = _main(app_db).id
    at.text_input(key=f"sf_{fid}_slug").input("Spring Promo!").run()
    at.button(key=f"sf_{fid}_save").click().run()
    assert any("lowercase letters, digits and single hyphens" in e for e in _texts(at, "error"))
    assert _main(app_db).slug == "main"


def test_deleting_the_main_form_is_refused_and_says_why(at, app_db):
    fid = _main(app_db).id
    at.button(key=f"sf_del_{fid}").click().run()
    assert any("main sign-up form can't be deleted" in e for e in _texts(at, "error"))
    with Session(app_db) as s:
        assert len(s.exec(select(SignupForm)).all()) == 1


def test_create_duplicate_and_delete_a_form(at, app_db):
    at.text_input(key="sf_new_name").input("In-store tablet")
    at.button(key="sf_create").click().run()
    assert not at.exception
    with Session(app_db) as s:
        tablet = forms.get_by_slug(s, "in-store-tablet")
    assert at.session_state["sf_selected"] == tablet.id
    assert at.text_input(key=f"sf_{tablet.id}_name").value == "In-store tablet"

    at.button(key=f"sf_dup_{tablet.id}").click().run()
    with Session(app_db) as s:
        copy = forms.get_by_slug(s, "in-store-tablet-copy")
    assert copy.name == "Copy of In-store tablet"

    at.button(key=f"sf_del_{copy.id}").click().run()
    assert any("Delete “Copy of In-store tablet”?" in w for w in _texts(at, "warning"))
    at.button(key=f"sf_del_yes_{copy.id}").click().run()
    assert not at.exception
    with Session(app_db) as s:
        assert {f.slug for f in s.exec(select(SignupForm)).all()} == {"main", "in-store-tablet"}


def test_share_this_page_shows_the_main_sign_up_url_and_qr_code_for_download(at, app_db):
    md = _texts(at, "markdown")
    assert "**Main sign-up URL**" in md and "**Main sign-up QR code**" in md
    assert "http://localhost:8501/signup?form=main" in _texts(at, "code")
    assert at.get("download_button")  # the PNGs: the form's and Text To Join's
    assert "**Text To Join QR code**" in md
    captions = [str(img.proto) for img in at.get("image")]
    assert any("Scan with a phone camera to open the form" in c for c in captions)
    assert any("with JOIN typed in" in c for c in captions)


def test_the_base_url_is_a_setting_the_share_section_uses(at, app_db):
    at.text_input(key="sf_base_url").input("https://join.greenleaf.example/").run()
    at.button(key="sf_base_url_save").click().run()
    assert not at.exception
    assert "https://join.greenleaf.example/signup?form=main" in _texts(at, "code")
    with Session(app_db) as s:
        assert texting.get_defaults(s).base_url == "https://join.greenleaf.example"


def test_a_base_url_that_is_not_a_web_address_is_refused(at, app_db):
    at.text_input(key="sf_base_url").input("join.greenleaf.example").run()
    at.button(key="sf_base_url_save").click().run()
    assert any(r"starts with https\://" in e for e in _texts(at, "error"))  # shown as text, not a link


# --- Issue 11: sign-up limits -------------------------------------------------------------------------------------


def _limits(app_db):
    from core.signups import signup_limits

    with Session(app_db) as s:
        return signup_limits.get_limits(s)


def test_the_sign_up_limits_show_their_defaults_and_save(at, app_db):
    assert "Sign-up limits" in [t.label for t in at.tabs]
    assert [(n.label, n.value) for n in at.number_input] == [
        ("Sign-ups per device per hour", 5),
        ("Sign-ups per phone number per hour", 3),
        ("Sign-ups per form per hour", 100),
    ]
    at.number_input(key="sf_limit_per_client").set_value(25)
    at.number_input(key="sf_limit_per_form").set_value(300)
    at.button(key="sf_limits_save").click().run()
    assert not at.exception and not at.error
    assert "Saved the sign-up limits: 25 per device, 3 per phone number and 300 per form" in at.success[0].value
    assert (_limits(app_db).per_client, _limits(app_db).per_form) == (25, 300)
    assert at.number_input(key="sf_limit_per_client").value == 25


def test_a_limit_out_of_range_is_refused_beside_its_field_and_nothing_is_saved(at, app_db):
    at.number_input(key="sf_limit_per_phone").set_value(0)
    at.number_input(key="sf_limit_per_form").set_value(50_000)
    at.button(key="sf_limits_save").click().run()
    assert not at.exception
    assert _texts(at, "error") == [
        "Sign-ups per phone number per hour: enter a whole number from 1 to 20.",
        "Sign-ups per form per hour: enter a whole number from 1 to 10,000.",
    ]
    assert _limits(app_db).per_phone == 3 and _limits(app_db).per_form == 100


def test_a_new_form_named_with_markdown_is_announced_as_text(at, app_db):
    at.text_input(key="sf_new_name").input("*Tablet* <script>").run()
    at.button(key="sf_create").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Created “\\*Tablet\\* \\<script\\>”.")
    with Session(app_db) as s:
        assert s.exec(select(SignupForm).where(SignupForm.name == "*Tablet* <script>")).one()

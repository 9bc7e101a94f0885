"""Sign-up forms in core: the main form, the builder's rules, views and the public URL (§6)."""

import datetime as dt

import pytest
from sqlmodel import select

from core.signups import forms, signup
from core.messaging import texting
from core.models import FormSubmission, FormView, SignupForm


def _main(session):
    return forms.main_form(session)


def _signature_required(form):
    return {**form.fields, "signature": "required"}


def test_a_main_form_exists_from_the_first_start_with_double_opt_in_on(session):
    rows = forms.list_forms(session)
    assert len(rows) == 1
    main = rows[0].form
    assert main.is_main and main.slug == "main"
    assert main.double_opt_in and not main.auto_opt_in and main.collects_sms
    assert main.fields["phone"] == "required"
    assert rows[0].views == 0 and rows[0].submissions == 0 and rows[0].conversion_rate == 0


def test_ensure_main_form_is_idempotent(session):
    forms.ensure_main_form(session)
    session.commit()
    assert len(session.exec(select(SignupForm)).all()) == 1


def test_the_default_disclosure_names_the_brand_and_says_what_the_rules_need(session):
    text = _main(session).disclosure
    brand = texting.get_defaults(session).brand
    assert brand in text
    for words in (
        "recurring",
        "marketing",
        "not a condition of purchase",
        "Msg & data rates may apply",
        "Msg frequency varies",
        "HELP",
        "STOP",
    ):
        assert words in text
    assert forms.disclosure_problems(text, brand) == []


def test_a_form_is_created_with_a_url_safe_slug_from_its_name(session):
    form = forms.create(session, name="Spring Promo at the Counter!")
    assert form.slug == "spring-promo-at-the-counter"
    assert not form.is_main and form.double_opt_in and form.disclosure_version == 1


def test_a_slug_that_is_not_url_safe_is_refused_by_name(session):
    for bad in ("has space", "UPPER/slash", "a--b", "-lead", "ünï", "x" * 61):
        with pytest.raises(forms.InvalidForm) as info:
            forms.create(session, name="Tablet", slug=bad)
        assert info.value.field == "slug"
    assert len(forms.list_forms(session)) == 1


def test_a_slug_already_in_use_is_refused(session):
    forms.create(session, name="Tablet", slug="tablet")
    with pytest.raises(forms.SlugTaken):
        forms.create(session, name="Other", slug="tablet")
    with pytest.raises(forms.SlugTaken):
        forms.update(session, form_id=_main(session).id, slug="tablet")


def test_phone_stays_required_while_the_form_collects_sms_consent(session):
    main = _main(session)
    with pytest.raises(forms.InvalidForm, match="Phone must be Required"):
        forms.update(session, form_id=main.id, fields={**main.fields, "phone": "optional"})
    saved = forms.update(session, form_id=main.id, collects_sms=False, fields={**main.fields, "phone": "optional"})
    assert saved.fields["phone"] == "optional" and not saved.collects_sms


def test_auto_opt_in_cannot_be_saved_unless_signature_is_required(session):
    main = _main(session)
    with pytest.raises(forms.AutoOptInNeedsSignature) as info:
        forms.update(session, form_id=main.id, double_opt_in=False, auto_opt_in=True)
    assert "Signature" in str(info.value) and "Required" in str(info.value)
    session.expire_all()
    assert not _main(session).auto_opt_in and _main(session).double_opt_in


def test_auto_opt_in_needs_double_opt_in_off(session):
    main = _main(session)
    with pytest.raises(forms.InvalidForm) as info:
        forms.update(session, form_id=main.id, double_opt_in=True, auto_opt_in=True, fields=_signature_required(main))
    assert info.value.field == "auto_opt_in"


def test_the_help_articles_steps_turn_on_auto_opt_in(session):
    main = _main(session)
    saved = forms.update(
        session, form_id=main.id, fields=_signature_required(main), double_opt_in=False, auto_opt_in=True
    )
    assert saved.auto_opt_in and not saved.double_opt_in and saved.fields["signature"] == "required"


def test_a_changed_disclosure_is_a_new_version_and_an_unchanged_one_is_not(session):
    main = _main(session)
    same = forms.update(session, form_id=main.id, name="Main form", disclosure=main.disclosure)
    assert same.disclosure_version == 1
    new_text = main.disclosure + " See our privacy policy."
    changed = forms.update(session, form_id=main.id, disclosure=new_text)
    assert changed.disclosure_version == 2 and changed.disclosure == new_text


def test_a_disclosure_missing_what_the_rules_need_is_refused(session):
    main = _main(session)
    with pytest.raises(forms.InvalidForm) as info:
        forms.update(session, form_id=main.id, disclosure="Sign up for texts!")
    assert info.value.field == "disclosure"
    assert "condition of purchase" in str(info.value) and "STOP" in str(info.value)


def test_a_form_is_duplicated_under_a_free_slug(session):
    main = _main(session)
    a = forms.duplicate(session, form_id=main.id)
    b = forms.duplicate(session, form_id=main.id)
    assert a.name == "Copy of Main sign-up form" and a.slug == "main-copy" and b.slug == "main-copy-2"
    assert not a.is_main and a.fields == main.fields and a.disclosure == main.disclosure


def test_the_main_form_is_never_deleted(session):
    with pytest.raises(forms.MainFormProtected, match="can't be deleted"):
        forms.delete(session, form_id=_main(session).id)
    assert len(forms.list_forms(session)) == 1


def test_deleting_a_form_removes_its_views_and_submissions_but_keeps_the_customer(session, now):
    form = forms.create(session, name="Tablet")
    forms.record_view(session, form_id=form.id, now=now)
    result = signup.submit(session, form_slug="tablet", answers={"first_name": "Ann", "phone": "415-555-0199"}, now=now)
    assert forms.delete(session, form_id=form.id) == "Tablet"
    assert session.exec(select(FormSubmission)).all() == []
    assert session.exec(select(FormView)).all() == []
    from core.models import Customer

    assert session.get(Customer, result.customer_id) is not None


def test_views_are_counted_per_day_and_give_the_conversion_rate(session, now):
    main = _main(session)
    for day in (now, now, now + dt.timedelta(days=1), now + dt.timedelta(days=1)):
        forms.record_view(session, form_id=main.id, now=day)
    signup.submit(session, form_slug="main", answers={"first_name": "Ann", "phone": "4155550199"}, now=now)
    stats = forms.list_forms(session)[0]
    assert stats.views == 4 and stats.submissions == 1 and stats.conversion_rate == 0.25
    assert forms.views_by_day(session, form_id=main.id, since=now.date()) == [
        (now.date(), 2),
        (now.date() + dt.timedelta(days=1), 2),
    ]


def test_get_by_slug_finds_the_main_form_when_no_slug_and_refuses_an_unknown_one(session):
    assert forms.get_by_slug(session, None).is_main
    assert forms.get_by_slug(session, "").is_main
    with pytest.raises(forms.FormNotFound):
        forms.get_by_slug(session, "nope")


def test_the_public_url_is_the_base_url_with_the_signup_page_and_slug():
    assert forms.public_url("https://shop.example.com/", "main") == "https://shop.example.com/signup?form=main"
    assert forms.public_url("", "spring") == "http://localhost:8501/signup?form=spring"


def test_the_app_address_is_the_pages_url_without_its_path_else_the_host_else_localhost():
    assert forms.app_address("https://shop.example.com/signup-forms", "signup-forms") == "https://shop.example.com"
    assert forms.app_address("http://10.0.0.5:8501/desk/signup-forms/", "signup-forms") == "http://10.0.0.5:8501/desk"
    assert forms.app_address(None, "signup-forms", host="tablet.local:8502") == "http://tablet.local:8502"
    assert forms.app_address(None, "signup-forms", host="evil.com/<script>") == "http://localhost:8501"
    assert forms.app_address(None) == "http://localhost:8501"

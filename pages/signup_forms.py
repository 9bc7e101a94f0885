"""Settings > Sign-up Forms: the forms, their field options and consent toggles, and Share this page (§6)."""

from __future__ import annotations

import streamlit as st

from core.signups import forms, signup_limits
from core import phones, qr
from core.messaging import texting
import widgets
from pages import ui

ui.require_page("signup-forms")

SELECTED = "sf_selected"
CONFIRM_DELETE = "sf_confirm_delete"
FLASH = "sf_flash"
LIMIT_ERRORS = "sf_limit_errors"
LIMIT_HELP = {
    "per_client": "Sign-ups from one phone, tablet or computer (one internet address). Customers signing up on "
    "a shared tablet in your shop all count as this one device: raise it if you use one.",
    "per_phone": "Sign-ups that give the same phone number, from anywhere.",
    "per_form": "All sign-ups through one form together, from everyone.",
}
MODE_OPTIONS = [forms.MODE_LABELS[m] for m in forms.MODES]  # Required, Optional, Hidden
LABEL_TO_MODE = {label: mode for mode, label in forms.MODE_LABELS.items()}
FIELD_NOTES = {
    "phone": "Required while the form collects SMS consent.",
    "signature": "The customer types their full name. Required for auto opt-in.",
    "birthday": "Customers type it like 07/14/1990.",
}


def _flash(text: str) -> None:
    widgets.set_flash(FLASH, text)


def _base_url(defaults) -> tuple[str, str]:
    """(the base URL in use, the address the app runs at)."""
    headers = st.context.headers
    detected = forms.app_address(st.context.url, "signup-forms", headers.get("Host") if headers else None)
    return (defaults.base_url or detected), detected


st.title("Sign-up Forms", anchor=False)
st.caption(
    "Forms where customers join your texting list. Each form has its own web address and QR code "
    "under **Share this page**."
)
widgets.flash(FLASH)

with ui.session() as s:
    rows = forms.list_forms(s)
    defaults = texting.get_defaults(s)
    ids = [r.form.id for r in rows]
    if st.session_state.get(SELECTED) not in ids:
        st.session_state[SELECTED] = ids[0]

    tab_forms, tab_share, tab_limits = st.tabs(["Forms", "Share this page", "Sign-up limits"])

    # --- The list ------------------------------------------------------------------------
    with tab_forms:
        with st.popover("Create a new form", icon=":material/add:"):
            new_name = st.text_input(
                "Form name",
                key="sf_new_name",
                placeholder="In-store tablet",
                help="Only you see the name; the web address is made from it.",
            )
            if st.button("Create form", key="sf_create", type="primary"):
                try:
                    created = forms.create(s, name=new_name, by=ui.actor())
                except forms.FormError as exc:
                    ui.show_error(exc)
                else:
                    st.session_state[SELECTED] = created.id
                    _flash(f"Created “{widgets.plain(created.name)}”. Set its fields below, then Save sign-up form.")
                    st.rerun()

        for r in rows:
            f = r.form
            with st.container(border=True, key=f"sf_row_{f.id}"):
                c = st.columns([4, 3.6], vertical_alignment="center")
                main_badge = " :blue-badge[Main]" if f.is_main else ""
                editing = " :gray-badge[editing]" if f.id == st.session_state[SELECTED] else ""
                c[0].markdown(
                    f"**{widgets.plain(f.name)}**{main_badge}{editing} &nbsp; :gray[/signup?form={f.slug}]  \n"
                    f"**{r.views:,}** Views · **{r.submissions:,}** Submissions · "
                    f"**{forms.rate_text(r.conversion_rate)}** Conversion rate"
                )
                actions = c[1].container(horizontal=True, horizontal_alignment="right", key=f"sf_actions_{f.id}")
                if actions.button("Edit", key=f"sf_edit_{f.id}", icon=":material/edit:"):
                    st.session_state[SELECTED] = f.id
                    st.session_state.pop(CONFIRM_DELETE, None)
                    st.rerun()
                if actions.button("Duplicate", key=f"sf_dup_{f.id}", icon=":material/content_copy:"):
                    copy = forms.duplicate(s, form_id=f.id, by=ui.actor())
                    st.session_state[SELECTED] = copy.id
                    _flash(f"Duplicated as “{widgets.plain(copy.name)}” at /signup?form={copy.slug}.")
                    st.rerun()
                if actions.button("Delete", key=f"sf_del_{f.id}", icon=":material/delete:"):
                    if f.is_main:
                        try:
                            forms.delete(s, form_id=f.id, by=ui.actor())  # core refuses, saying why
                        except forms.FormError as exc:
                            ui.show_error(exc)
                    else:
                        st.session_state[CONFIRM_DELETE] = f.id
                if st.session_state.get(CONFIRM_DELETE) == f.id:
                    st.warning(
                        f"Delete “{widgets.plain(f.name)}”? Its link and QR code stop working, and its "
                        f"{r.submissions:,} submission record(s) and view counts are removed. Customers and "
                        f"their consent history stay.",
                        icon=":material/warning:",
                    )
                    y, n, _ = st.columns([1, 1, 3])
                    if y.button("Yes, delete", key=f"sf_del_yes_{f.id}", type="primary"):
                        name = forms.delete(s, form_id=f.id, by=ui.actor())
                        st.session_state.pop(CONFIRM_DELETE, None)
                        st.session_state[SELECTED] = ids[0]
                        _flash(f"Deleted “{widgets.plain(name)}”.")
                        st.rerun()
                    if n.button("Keep it", key=f"sf_del_no_{f.id}"):
                        st.session_state.pop(CONFIRM_DELETE, None)
                        st.rerun()

        # --- The editor ----------------------------------------------------------------------
        form = forms.get(s, st.session_state[SELECTED])
        fid = form.id
        k = f"sf_{fid}_"
        st.divider()
        st.subheader(f"Edit: {widgets.plain(form.name)}", anchor=False)
        left, right = st.columns(2, gap="large")
        with left:
            name = st.text_input("Form name", value=form.name, key=k + "name", max_chars=forms.MAX_NAME)
            slug = st.text_input(
                "Web address (slug)",
                value=form.slug,
                key=k + "slug",
                max_chars=forms.MAX_SLUG,
                help="Lowercase letters, digits and hyphens. Customers open …/signup?form=SLUG; "
                "changing it breaks links and QR codes already shared.",
            )
            st.markdown("**Sign-up form field options**")
            modes: dict[str, str] = {}
            stored = forms.field_modes(form)
            for key, label in forms.FIELDS.items():
                fc = st.columns([1.1, 2], vertical_alignment="center")
                fc[0].markdown(label, help=FIELD_NOTES.get(key))
                picked = fc[1].segmented_control(
                    label,
                    MODE_OPTIONS,
                    default=forms.MODE_LABELS[stored[key]],
                    key=k + "field_" + key,
                    label_visibility="collapsed",
                )
                modes[key] = LABEL_TO_MODE.get(picked, stored[key])
        with right:
            st.markdown("**SMS consent**")
            collects = st.toggle("Does this form collect SMS consent?", value=form.collects_sms, key=k + "collects")
            double = form.double_opt_in
            auto = False
            if collects:
                double = st.toggle(
                    "Do you want this form to send a double opt-in?", value=form.double_opt_in, key=k + "double"
                )
                if double:
                    st.caption(
                        "Yes: each sign-up becomes **pending** and gets the opt-in request; they join when "
                        "they reply Y or YES."
                    )
                else:
                    auto = st.toggle("Do you want to auto opt-in new sign-ups?", value=form.auto_opt_in, key=k + "auto")
                    sig_ok = modes["signature"] == forms.REQUIRED
                    note = (
                        "Auto opt-in needs **Signature** to be a **Required** field: the typed signature and "
                        "the disclosure they saw are the proof of consent."
                    )
                    if auto and not sig_ok:
                        st.caption(f":red[{note} Signature is not Required yet.]")
                    else:
                        st.caption(note)
                    if not auto:
                        st.caption("With both No, sign-ups are saved as **not opted in** and get no text.")
            else:
                st.caption("This form only collects details: no consent is asked and no text is sent.")
            disclosure = st.text_area(
                "Consent disclosure (shown above the Sign up button)",
                value=form.disclosure,
                key=k + "disclosure",
                height=150,
                max_chars=forms.MAX_DISCLOSURE,
            )
            if disclosure.strip() != form.disclosure:
                st.info(
                    f"This is a new version of the disclosure (v{form.disclosure_version + 1}). New sign-ups "
                    f"will record v{form.disclosure_version + 1}; earlier ones keep v{form.disclosure_version}.",
                    icon=":material/history:",
                )
            else:
                st.caption(f"Disclosure version {form.disclosure_version}. Sign-ups record the version they saw.")
            if st.button("Reset to the default disclosure", key=k + "reset_disclosure"):
                st.session_state[k + "disclosure"] = forms.default_disclosure(defaults.brand)
                st.rerun()

        if st.button("Save sign-up form", key=k + "save", type="primary", icon=":material/save:"):
            try:
                saved = forms.update(
                    s,
                    by=ui.actor(),
                    form_id=fid,
                    name=name,
                    slug=slug,
                    fields=modes,
                    collects_sms=collects,
                    double_opt_in=double,
                    auto_opt_in=auto,
                    disclosure=disclosure,
                )
            except forms.FormError as exc:
                ui.show_error(exc)
            else:
                _flash(f"Saved “{widgets.plain(saved.name)}” (disclosure v{saved.disclosure_version}).")
                st.rerun()

    # --- Share this page -------------------------------------------------------------------
    with tab_share:
        base, detected = _base_url(defaults)
        by_id = {r.form.id: r.form for r in rows}
        share_id = st.selectbox(
            "Form",
            ids,
            index=ids.index(st.session_state[SELECTED]),
            key="sf_share_form",
            format_func=lambda i: by_id[i].name + (" (main)" if by_id[i].is_main else ""),
        )
        shared = by_id[share_id]
        url = forms.public_url(base, shared.slug)
        url_label = "Main sign-up URL" if shared.is_main else "Sign-up URL"
        qr_label = "Main sign-up QR code" if shared.is_main else "Sign-up QR code"
        c1, c2 = st.columns(2, gap="large")
        with c1:
            st.markdown(f"**{url_label}**")
            st.code(url, language=None)
            st.link_button("Open the form", url, icon=":material/open_in_new:")
            st.markdown(f"**{qr_label}**")
            png = qr.qr_png(url)
            st.image(png, caption="Scan with a phone camera to open the form.", width=220, output_format="PNG")
            st.download_button(
                "Download QR code (PNG)",
                png,
                file_name=f"{shared.slug}-signup-qr.png",
                mime="image/png",
                key="sf_qr_download",
                icon=":material/download:",
            )
        with c2:
            st.markdown("**Text To Join QR code**")
            join = phones.format_display(defaults.join_number, defaults.default_region)
            try:
                join_png = qr.qr_png(qr.sms_uri(defaults.join_number, defaults.join_keyword))
            except qr.QRError as exc:
                ui.show_error(exc)
            else:
                st.image(
                    join_png,
                    width=220,
                    output_format="PNG",
                    caption=f"Opens the phone's texting app to {join} with {defaults.join_keyword} typed in.",
                )
                st.download_button(
                    "Download Text To Join QR code (PNG)",
                    join_png,
                    file_name="text-to-join-qr.png",
                    mime="image/png",
                    key="sf_join_qr_download",
                    icon=":material/download:",
                )
            st.caption("Change the number and keyword under Configure > Texting Defaults.")

        with st.expander("Public address of this app", expanded=not defaults.base_url):
            st.caption(
                f"Sign-up links start with this address. Leave it empty to use the address this app runs at: {detected}"
            )
            typed = st.text_input("Public address", value=defaults.base_url, key="sf_base_url", placeholder=detected)
            if st.button("Save address", key="sf_base_url_save"):
                try:
                    texting.update_defaults(s, base_url=typed, by=ui.actor())
                except texting.InvalidSetting as exc:
                    ui.show_error(exc)
                else:
                    _flash("Saved the public address.")
                    st.rerun()

    # --- Sign-up limits ------------------------------------------------------------------------
    with tab_limits:
        st.subheader("Sign-up limits", anchor=False)
        st.caption(
            "A sign-up can send a text, so these limits stop anyone from using your public forms to send "
            "texts in bulk. They count sign-ups in the last hour. Past a limit the form asks the person to "
            "try again later: nothing is saved and no text is sent."
        )
        limits = signup_limits.get_limits(s)
        limit_errors: dict[str, str] = st.session_state.get(LIMIT_ERRORS, {})
        cols = st.columns(3)
        typed_limits = {}
        for col, field in zip(cols, signup_limits.FIELDS):
            with col:
                typed_limits[field] = st.number_input(
                    signup_limits.LABELS[field],
                    value=getattr(limits, field),
                    step=1,
                    format="%d",
                    key=f"sf_limit_{field}",
                    help=LIMIT_HELP[field],
                )
                if field in limit_errors:
                    st.error(limit_errors[field], icon=":material/error:")
                else:
                    st.caption(
                        f"Default {getattr(signup_limits.DEFAULTS, field):,}; at most "
                        f"{signup_limits.MAXIMUMS[field]:,}."
                    )
        if st.button("Save limits", key="sf_limits_save", type="primary", icon=":material/save:"):
            try:
                saved_limits = signup_limits.save_limits(s, by=ui.actor(), **typed_limits)
            except signup_limits.InvalidLimits as exc:
                st.session_state[LIMIT_ERRORS] = exc.errors
            else:
                st.session_state.pop(LIMIT_ERRORS, None)
                _flash(
                    f"Saved the sign-up limits: {saved_limits.per_client:,} per device, "
                    f"{saved_limits.per_phone:,} per phone number and {saved_limits.per_form:,} per form, "
                    f"each per hour."
                )
            st.rerun()

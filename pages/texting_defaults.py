"""Configure > Texting Defaults: the texts the shop sends, its numbers, quiet hours and the Text To Join sign."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.clock import local_date
from core.consent.keywords import EXTRA_CHOICES, KEYWORDS, Keyword
from core.messaging import outbox, signs, texting, windows
from core import qr
from core.messaging import texting_editor as editor
from core.models import MessageKind
import widgets
from pages import ui

ui.require_page("texting-defaults")

TEMPLATES = [kind.value for kind in MessageKind if kind.templated]
LABELS = editor.FIELD_LABELS
CARRIER_FILTERING = (
    "**Why some words are refused here.** Phone carriers filter texts to stop spam before it reaches anyone. "
    "An opt-in request goes to people who have not agreed to your texts yet, so it is filtered hardest: "
    "offers and prices (*free*, *% off*, *sale*, *deal*, *coupon*, a price) read as spam, and words of "
    "regulated industries (*cannabis*, *THC*, *CBD*, *vape*, *alcohol*, *tobacco*, *firearms*) are blocked "
    "outright. A filtered request never arrives, so the customer can never reply YES: that is why Save "
    "stays off until the request is clean. Keep it to who you are and how to say yes or stop."
)


PREVIEW_SCROLL_AFTER = 480  # characters: three segments' worth; a longer preview scrolls


def key(field: str) -> str:
    return f"td_{field}"


md = widgets.plain  # text shown as markdown, nothing in it read as formatting


# --- state: the form starts from the saved settings ---------------------------------------------------------------
with ui.session() as s:
    row = texting.get_defaults(s)
    saved = editor.form_values(row)
    sign_args = dict(brand=row.brand, number=row.join_number, keyword=row.join_keyword, region=row.default_region)
for field, value in saved.items():
    if key(field) not in st.session_state:
        st.session_state[key(field)] = value
typed = {field: st.session_state[key(field)] for field in editor.FIELDS}
with ui.session() as s:
    problems = editor.form_problems(s, typed)  # in page order


def reset_template(field: str) -> None:
    st.session_state[key(field)] = texting.default_template(field)


def save() -> None:
    values = {field: st.session_state[key(field)] for field in editor.FIELDS}
    try:
        with ui.session() as s:
            fresh = editor.save(s, values, by=ui.actor())
    except texting.InvalidSetting as exc:
        st.session_state["td_save_error"] = f"Nothing was saved. {exc}"
        return
    for field, value in fresh.items():
        st.session_state[key(field)] = value
    st.session_state["td_saved"] = True


def release() -> None:
    with ui.session() as s:
        st.session_state["td_released"] = outbox.release_due(s)


def field_error(field: str) -> None:
    if field in problems:
        st.error(md(problems[field]), icon=":material/error:")


@st.cache_data(max_entries=8, show_spinner=False)
def sign_png(brand: str, number: str, keyword: str, region: str) -> bytes:
    return signs.text_to_join_sign(brand=brand, number=number, keyword=keyword, region=region)


# --- page ------------------------------------------------------------------------------------------------------------
st.title("Texting Defaults", anchor=False)
st.caption(
    "The texts Opt-In Desk sends for your shop, the numbers customers text, and when bulk texts may go out. "
    "Changes apply to the next text after you save."
)

st.subheader("Your shop", anchor=False)
c1, c2 = st.columns(2)
with c1:
    st.text_input(
        LABELS["brand"], key=key("brand"), help="Every text starts with it, so customers know who is texting."
    )
    field_error("brand")
with c2:
    st.text_input(
        LABELS["help_contact"],
        key=key("help_contact"),
        help="A phone number, an email or a website. The help reply gives it as {help_contact}.",
    )
    field_error("help_contact")

st.subheader("Messages", anchor=False)
st.markdown(
    "Placeholders you can use: "
    + " · ".join(f"`{{{name}}}` {md(what)}" for name, what in editor.PLACEHOLDER_HELP.items())
    + f". The previews fill them in for a sample customer, {editor.SAMPLE_FIRST_NAME}."
)

for field in TEMPLATES:
    kind = MessageKind(field)
    check = editor.check_template(
        kind,
        typed[field],
        brand=typed["brand"],
        help_contact=typed["help_contact"],
        join_number=typed["join_number"],
        region=typed["default_region"],
    )
    with st.container(border=True, key=f"box_{field}"):
        left, right = st.columns([3, 2], gap="large")
        with left:
            st.text_area(kind.label, key=key(field), height=130)
            st.button(
                "Reset to default",
                key=f"reset_{field}",
                on_click=reset_template,
                args=(field,),
                icon=":material/restart_alt:",
                disabled=typed[field] == texting.default_template(kind),
            )
            if kind is MessageKind.opt_in_request:
                st.info(CARRIER_FILTERING, icon=":material/policy:")
                if any(f.code in ("promotional", "regulated") for f in check.errors):
                    ui.training_mark("refused_opt_in_request")  # walkthrough scenario 4 (training shop only)
        with right:
            st.markdown(f":material/sms: **{check.cost}**")
            if check.count.non_gsm:
                st.markdown(f"UCS-2 because of: {md(editor.forcing_characters(check))}")
            for finding in check.errors:
                st.markdown(f":red[:material/cancel: {md(finding.message)}]")
            for finding in check.warnings:
                st.markdown(f":orange[:material/warning: {md(finding.message)}]")
            if not check.findings:
                st.markdown(":green[:material/check_circle: Meets the carrier rules.]")
            st.caption(f"What {editor.SAMPLE_FIRST_NAME} receives")
            # a very long text scrolls inside its own box instead of stretching the page
            with st.container(
                height=320 if len(check.preview or "") > PREVIEW_SCROLL_AFTER else "content",
                border=False,
                key=f"preview_{field}",
            ):
                with st.chat_message("shop", avatar=":material/sms:"):
                    st.text(check.preview or " ")

st.subheader("Numbers", anchor=False)
c1, c2, c3 = st.columns(3)
with c1:
    st.text_input(
        LABELS["main_number"],
        key=key("main_number"),
        help="The number your texts come from; customers reply STOP, HELP or YES to it. With Twilio "
        "on (Settings › Texting provider) it must be a number of your Twilio account.",
    )
    field_error("main_number")
with c2:
    regions = editor.region_options()
    st.selectbox(
        LABELS["default_region"],
        regions,
        key=key("default_region"),
        format_func=editor.region_label,
        help="Phone numbers typed without a country code are read as this country's.",
    )
    field_error("default_region")
with c3:
    st.number_input(
        LABELS["max_opt_in_requests"],
        key=key("max_opt_in_requests"),
        min_value=1,
        max_value=5,
        step=1,
        help="Opt-in requests a phone can get in total; never two within 24 hours.",
    )
    field_error("max_opt_in_requests")

st.subheader("Text To Join", anchor=False)
left, right = st.columns([3, 2], gap="large")
with left:
    st.text_input(
        LABELS["join_number"],
        key=key("join_number"),
        help="Any text to this number asks the customer to join: they get the opt-in request.",
    )
    field_error("join_number")
    st.text_input(LABELS["join_keyword"], key=key("join_keyword"), help="One word, e.g. JOIN. Printed on the sign.")
    field_error("join_keyword")
    st.markdown(
        f"Customers text **{md(saved['join_keyword'])}** to **{md(saved['join_number'])}** and get your "
        "opt-in request; they are on your list once they reply YES. Print the sign for your counter: its QR "
        "code opens the phone's texting app with the number and the keyword filled in."
    )
    try:
        png = sign_png(**sign_args)
    except qr.QRError as exc:
        png = None
        ui.show_error(exc)
    if png:
        widgets.download(
            "Download the sign (PNG)", png, file_name="text-to-join-sign.png", mime="image/png", key="download_sign"
        )
    if (typed["join_number"], typed["join_keyword"], typed["brand"]) != (
        saved["join_number"],
        saved["join_keyword"],
        saved["brand"],
    ):
        st.caption("The sign shows your saved settings: save to update it.")
with right:
    if png:
        st.image(png, caption=signs.headline(saved["join_keyword"], saved["join_number"]), width=320)

st.subheader("Quiet hours", anchor=False)
c1, c2, c3 = st.columns(3)
with c1:
    st.time_input(LABELS["window_start"], key=key("window_start"), step=dt.timedelta(minutes=15))
    field_error("window_start")
with c2:
    st.time_input(LABELS["window_end"], key=key("window_end"), step=dt.timedelta(minutes=15))
    field_error("window_end")
with c3:
    st.selectbox(
        LABELS["timezone"],
        editor.timezone_options(typed["timezone"]),
        key=key("timezone"),
        help="Used when a customer's number doesn't tell their time zone.",
    )
    field_error("timezone")
sentence = editor.window_sentence(typed["window_start"], typed["window_end"], typed["timezone"])
if sentence:
    st.info(md(sentence), icon=":material/bedtime:")
# rulebook §9: the window of the customer's state, and of the shop's own area
st.info(
    md(
        windows.explain_area(
            row.main_number, typed["window_start"], typed["window_end"], local_date(None, typed["timezone"])
        )
    ),
    icon=":material/gavel:",
)
with st.expander("Sending windows by state", icon=":material/map:"):
    st.caption(
        "Texts you start (requests, and any marketing) go only inside the window of the customer's state, in "
        "their local time: the state of the zip code you have for them, else their number's area code. "
        "A text held by a window or a cap waits in the queue and says which rule held it; it is never dropped."
    )
    st.dataframe(windows.table_rows(), hide_index=True, width="stretch", key="td_state_table")

st.subheader("Opt-out and help words", anchor=False)
fixed_out = ", ".join(k for k, v in KEYWORDS.items() if v is Keyword.OPT_OUT)
fixed_help = ", ".join(k for k, v in KEYWORDS.items() if v is Keyword.HELP)
st.markdown(f"Always on, and can't be removed: opt-out **{fixed_out}**; help **{fixed_help}**.")
c1, c2 = st.columns(2)
with c1:
    st.multiselect(
        LABELS["extra_opt_out_words"],
        list(EXTRA_CHOICES[Keyword.OPT_OUT]),
        key=key("extra_opt_out_words"),
        placeholder="None",
        help="Spanish and French words that also opt a customer out.",
    )
    field_error("extra_opt_out_words")
with c2:
    st.multiselect(
        LABELS["extra_help_words"],
        list(EXTRA_CHOICES[Keyword.HELP]),
        key=key("extra_help_words"),
        placeholder="None",
        help="Words that also get your help reply.",
    )
    field_error("extra_help_words")
st.toggle(
    LABELS["confirm_recorded_opt_outs"],
    key=key("confirm_recorded_opt_outs"),
    help="When you record an opt-out (a call, an email, a visit, a letter) or confirm a possible opt-out in the "
    "Inbox: one opt-out confirmation, within 5 minutes, never outside the customer's sending window, "
    "no marketing. Replies to a customer's own STOP always get their confirmation.",
)

st.divider()
c1, c2 = st.columns([1, 4], vertical_alignment="center")
with c1:
    st.button(
        "Save",
        key="save",
        type="primary",
        on_click=save,
        disabled=bool(problems),
        icon=":material/save:",
        width="stretch",
    )
with c2:
    if problems:
        st.error(md(editor.fix_before_saving(problems)), icon=":material/block:")
    elif st.session_state.pop("td_saved", False):
        st.success("Saved. The next text uses these settings.", icon=":material/check_circle:")
    elif typed != saved:
        st.caption("You have unsaved changes.")
    if "td_save_error" in st.session_state:
        st.error(md(st.session_state.pop("td_save_error")), icon=":material/error:")

st.subheader("Queued texts", anchor=False)
with ui.session() as s:
    queue = editor.queue_state(s)
st.markdown(md(queue.sentence(saved["timezone"])))
c1, c2, c3 = st.columns([1, 1, 3], vertical_alignment="bottom")
c1.metric("Queued", f"{queue.queued:,}")
c2.metric("Due now", f"{queue.due:,}")
with c3:
    st.button(
        "Release due messages",
        key="release_due",
        on_click=release,
        icon=":material/send:",
        help="Send queued texts whose time has come. This also happens whenever a page loads.",
    )
summary = st.session_state.pop("td_released", None)
if summary is not None:
    st.success(md(editor.released_sentence(summary)), icon=":material/send:")

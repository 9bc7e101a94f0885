"""Importing customer lists (rulebook §8): the merge rules, idempotence, the report and the history.

Storage tests run on the `session` fixture: SQLite here, and PostgreSQL too when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlmodel import Session, select

from core.consent import customers
from core.importing import apply, service
from core.importing.report import ImportReport, NoPhoneColumn, NoValidPhones, RowError
from tests import import_reference
from core.bootstrap import init_db
from core.db import make_engine
from core.importing.service import import_csv
from core.models import Channel, ConsentEvent, Customer, ImportRun, Message, MessageStatus, SmsStatus
from tests.conftest import NOW
from tests.factories import make_customer
from tests.import_helpers import counts, fixture, snapshot, status_of, write_csv

NIGHT = dt.datetime(2026, 12, 1, 9, 0)  # 01:00 in San Francisco: quiet hours


def ev_of(session, phone):
    session.expire_all()
    return list(session.exec(select(ConsentEvent).where(ConsentEvent.phone == phone).order_by(ConsentEvent.id)))


# --- files that import -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("utf8.csv", {"+14155550101": ("José", "García", "jose@example.com"), "+14155550103": ("Chloé", "Dubois", "")}),
        ("utf8_bom.csv", {"+14155550102": ("Zoë", "Müller", "zoe@example.com")}),
        ("cp1252.csv", {"+14155550111": ("José", "O’Brien", ""), "+14155550113": ("Renée", "Ørsted", "")}),
        ("utf16.txt", {"+14155550122": ("Søren", "Kierkegaard", "")}),
        ("semicolon.csv", {"+14155550131": ("Jürgen", "Groß, Jr.", "juergen@example.com")}),
        ("tab.csv", {"+14155550141": ("Amy", "Wong", "")}),
        ("crlf.csv", {"+14155550151": ("Ann", "Lee", "")}),
        ("quoted_newlines.csv", {"+14155550161": ("Mary, Jr.", 'O"Neil', "")}),
        ("blank_lines.csv", {"+14155550171": ("Ann", "", ""), "+14155550172": ("Bob", "", "")}),
        ("odd_headers.csv", {"+14155550181": ("Ann", "Lee", "ann@example.com")}),
        (
            "excel_floats.csv",
            {
                "+14155550191": ("Float", "", ""),
                "+14155550192": ("Float", "with 1", ""),
                "+14155550193": ("Scientific", "", ""),
                "+14155550194": ("Plain", "", ""),
            },
        ),
        (
            "extensions.csv",
            {
                "+14155550201": ("Ext", "x", ""),
                "+14155550202": ("Ext", "dot", ""),
                "+14155550203": ("Hash", "", ""),
                "+14155550204": ("Word", "", ""),
            },
        ),
        (
            "apostrophes.csv",
            {
                "+14155550211": ("Apostrophe", "", ""),
                "+14155550212": ("Apostrophe", "plus", ""),
                "+14155550213": ("Apostrophe", "space", ""),
            },
        ),
        (
            "customers.xlsx",
            {
                "+14155550221": ("Ann", "Lee", "ann@example.com"),
                "+14155550222": ("Bob", "Ray", ""),
                "+14155550223": ("Cy", "Oh", ""),
                "+14155550224": ("Di", "Xu", ""),
            },
        ),
    ],
)
def test_every_kind_of_real_file_imports(session, name, expected):
    report = import_csv(session, fixture(name), attested=False, now=NOW)
    got = {c.phone: (c.first_name, c.last_name, c.email) for c in session.exec(select(Customer)).all()}
    for phone, details in expected.items():
        assert got[phone] == details, (name, phone)
    assert report.created == len(got)


def test_a_shortened_excel_number_is_reported_not_guessed(session):
    report = import_csv(session, fixture("excel_floats.csv"), attested=False, now=NOW)
    assert [(e.row, e.value) for e in report.invalid] == [(5, "1.41556E+10")]
    assert "shortened by Excel" in report.invalid[0].reason
    assert report.created == 4


def test_statuses_of_an_xlsx_file_are_read_from_true_false_cells(session):
    report = import_csv(session, fixture("customers.xlsx"), attested=True, now=NOW)
    assert status_of(session, "+14155550221") == "opted_in"  # TRUE
    assert status_of(session, "+14155550222") == "not_opted_in"  # FALSE
    assert status_of(session, "+14155550223") == "opted_in"  # "yes"
    assert [e.row for e in report.invalid] == [7]


def test_odd_headers_map_the_opt_out_column(session):
    import_csv(session, fixture("odd_headers.csv"), attested=True, now=NOW)
    assert status_of(session, "+14155550181") == "opted_in"  # Subscribed
    assert status_of(session, "+14155550182") == "opted_out"  # opted in, but Do Not Text = yes
    assert status_of(session, "+14155550183") == "opted_out"  # Unsubscribed


def test_an_uploaded_file_object_imports_like_a_path(session):
    data = fixture("utf8.csv").read_bytes()
    report = import_csv(session, io.BytesIO(data), file_name="from-klaviyo.csv", attested=True, now=NOW)
    assert report.file_name == "from-klaviyo.csv"
    assert report.created == 3
    event = ev_of(session, "+14155550101")[0]
    assert event.evidence == {"file": "from-klaviyo.csv", "row": 2, "attested": True}


# --- §8 merge rules -----------------------------------------------------------------------------------------------


def test_opt_out_wins_within_the_file(session):
    report = import_csv(session, fixture("merge.csv"), attested=True, now=NOW)
    assert status_of(session, "+14155550301") == "opted_out"  # yes, then opted out
    assert status_of(session, "+14155550302") == "opted_out"  # unsubscribed, then yes
    assert status_of(session, "+14155550303") == "opted_in"  # blank, then y
    assert status_of(session, "+14155550304") == "opted_in"
    assert status_of(session, "+14155550305") == "not_opted_in"  # false = no status
    assert report.duplicates_in_file == 3
    assert report.kept_opted_out == 2
    assert (report.opted_in, report.opted_out, report.no_status) == (2, 0, 1)
    # one event per phone: the opt-out, never an opt-in first
    assert [(e.old_status, e.new_status) for e in ev_of(session, "+14155550301")] == [
        (SmsStatus.not_opted_in, SmsStatus.opted_out)
    ]
    assert ev_of(session, "+14155550302")[0].evidence["row"] == 3  # the row that says opted out


def test_opted_in_rows_without_the_attestation_import_as_not_opted_in(session):
    report = import_csv(session, fixture("merge.csv"), attested=False, now=NOW)
    assert status_of(session, "+14155550304") == "not_opted_in"
    assert status_of(session, "+14155550303") == "not_opted_in"
    assert report.not_attested == 2 and report.opted_in == 0
    assert status_of(session, "+14155550301") == "opted_out"  # opted out needs no attestation


def test_an_opt_out_in_the_database_wins_over_an_opted_in_row(session):
    make_customer(session, status=SmsStatus.opted_out, phone_number="+14155550304")
    before = len(ev_of(session, "+14155550304"))
    report = import_csv(session, fixture("merge.csv"), attested=True, now=NOW)
    assert status_of(session, "+14155550304") == "opted_out"
    assert len(ev_of(session, "+14155550304")) == before
    assert report.kept_opted_out == 3


def test_a_blank_status_leaves_an_existing_status_as_it_is(session):
    make_customer(session, status=SmsStatus.opted_in, phone_number="+14155550305")  # file says false
    make_customer(session, status=SmsStatus.pending, phone_number="+14155550303")  # file: blank, then y
    import_csv(session, fixture("merge.csv"), attested=False, now=NOW)
    assert status_of(session, "+14155550305") == "opted_in"
    assert status_of(session, "+14155550303") == "pending"


def test_a_pending_customer_becomes_opted_in_by_an_attested_row_with_its_evidence(session):
    make_customer(session, status=SmsStatus.pending, phone_number="+14155550304")
    import_csv(session, fixture("merge.csv"), attested=True, now=NOW)
    last = ev_of(session, "+14155550304")[-1]
    assert (last.old_status, last.new_status, last.channel) == (
        SmsStatus.pending,
        SmsStatus.opted_in,
        Channel.csv_import,
    )
    assert last.evidence == {"file": "merge.csv", "row": 7, "attested": True}
    assert last.occurred_at == NOW


def test_an_opted_in_customer_is_opted_out_by_a_row_that_says_so(session):
    make_customer(session, status=SmsStatus.opted_in, phone_number="+14155550302")
    import_csv(session, fixture("merge.csv"), attested=False, now=NOW)
    assert status_of(session, "+14155550302") == "opted_out"


def test_blank_values_never_erase_details_and_new_values_replace_them(session, tmp_path):
    make_customer(session, phone_number="+14155550801", first_name="Ann", last_name="Lee", email="ann@old.example")
    path = write_csv(tmp_path, "details.csv", ["phone,first_name,last_name,email", "415-555-0801,Annie,,"])
    report = import_csv(session, path, attested=False, now=NOW)
    c = customers.get_by_phone(session, "+14155550801", "US")
    session.refresh(c)
    assert (c.first_name, c.last_name, c.email) == ("Annie", "Lee", "ann@old.example")
    assert (report.updated, report.unchanged, report.created) == (1, 0, 0)


def test_a_full_name_column_fills_first_and_last_name(session, tmp_path):
    path = write_csv(tmp_path, "names.csv", ["Name,Mobile", "Ann Marie Lee,415-555-0811", "Cher,415-555-0812"])
    import_csv(session, path, attested=False, now=NOW)
    got = {c.phone: (c.first_name, c.last_name) for c in session.exec(select(Customer)).all()}
    assert got == {"+14155550811": ("Ann", "Marie Lee"), "+14155550812": ("Cher", "")}


def test_a_mapping_chosen_by_the_owner_is_used(session, tmp_path):
    path = write_csv(tmp_path, "custom.csv", ["Telefon,Vorname,Einwilligung", "415-555-0821,Jürgen,ja"])
    with pytest.raises(NoPhoneColumn):
        import_csv(session, path, attested=True, now=NOW)
    report = import_csv(session, path, attested=True, now=NOW, mapping={"phone": "Telefon", "first_name": "Vorname"})
    assert report.created == 1
    assert status_of(session, "+14155550821") == "not_opted_in"


def test_opt_in_values_of_the_rulebook_are_all_understood(session, tmp_path):
    says_in = ["true", "TRUE", "yes", "Y", "1", "1.0", "subscribed", "Opted In", "opted_in"]
    says_no = ["false", "no", "N", "0", "0.0", ""]
    says_out = ["unsubscribed", "Opted Out", "opted-out"]
    lines = ["phone,sms_opt_in"]
    n = 900
    plan = {}
    for values, status in ((says_in, "opted_in"), (says_no, "not_opted_in"), (says_out, "opted_out")):
        for v in values:
            n += 1
            lines.append(f"415-555-0{n},{v}")
            plan[f"+14155550{n}"] = status
    report = import_csv(session, write_csv(tmp_path, "values.csv", lines), attested=True, now=NOW)
    assert not report.invalid
    for phone, status in plan.items():
        assert status_of(session, phone) == status, phone


# --- bad rows among good ones -------------------------------------------------------------------------------------


def test_a_bad_row_among_good_ones_is_reported_and_the_rest_imported(session):
    report = import_csv(session, fixture("bad_rows.csv"), attested=True, now=NOW)
    assert [(e.row, e.column) for e in report.invalid] == [(3, "phone"), (4, "sms_opt_in"), (5, "phone"), (6, "")]
    assert report.invalid[0].reason == "too few digits"
    assert report.invalid[2].reason == "no phone number"
    assert "cannot be read" in report.invalid[3].reason
    assert [(w.row, w.column, w.imported) for w in report.warnings] == [(7, "email", True)]
    assert {c.phone for c in session.exec(select(Customer)).all()} == {
        "+14155550701",
        "+14155550705",
        "+442079460958",
        "+14155550706",
    }
    errors = report.errors_csv().decode("utf-8-sig").splitlines()
    assert errors[0] == "row,column,value,reason,what happened"
    assert errors[1].startswith("3,phone,555-0702,too few digits,row not imported")
    assert errors[-1].startswith("7,email,not-an-email,")


def test_the_error_file_neutralises_spreadsheet_formulas(session, tmp_path):
    path = write_csv(tmp_path, "formula.csv", ["phone,name", '"=HYPERLINK(""x"")",Eve', "415-555-0831,Ann"])
    report = import_csv(session, path, attested=False, now=NOW)
    assert "'=HYPERLINK" in report.errors_csv().decode("utf-8-sig")


def test_a_file_without_a_single_usable_phone_is_refused_with_nothing_written(session, tmp_path):
    path = write_csv(tmp_path, "bad.csv", ["phone,name", "n/a,Ann", "123,Bob"])
    with pytest.raises(NoValidPhones, match="None of the 2 rows"):
        import_csv(session, path, attested=False, now=NOW)
    assert counts(session)["customers"] == 0 and counts(session)["runs"] == 0


# --- idempotence --------------------------------------------------------------------------------------------------


def test_importing_the_same_file_twice_changes_nothing_the_second_time(session):
    import_csv(session, fixture("merge.csv"), attested=True, now=NOW)
    first = snapshot(session)
    again = import_csv(session, fixture("merge.csv"), attested=True, now=NOW + dt.timedelta(days=2))
    assert snapshot(session) == first
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert again.requests_sent == again.requests_queued == 0


def test_an_import_cut_off_half_way_ends_in_the_same_state_when_run_again(session, engine, monkeypatch, tmp_path):
    lines = ["phone,first_name,sms_opt_in"] + [
        f"415-555-{1000 + i},N{i},{['yes', 'no', '', 'unsubscribed'][i % 4]}" for i in range(10)
    ]
    path = write_csv(tmp_path, "big.csv", lines)
    monkeypatch.setattr(apply, "CHUNK_ROWS", 3)

    def crash(fraction, text):
        if text.startswith("Saved"):
            raise RuntimeError("the power went out")

    with pytest.raises(RuntimeError):
        import_csv(session, path, attested=True, now=NOW, progress=crash)
    session.rollback()
    assert counts(session)["customers"] == 3  # the first chunk is in, the rest is not
    run = session.exec(select(ImportRun)).one()
    assert run.finished_at is None

    report = import_csv(session, path, attested=True, now=NOW)
    assert (report.created, report.unchanged) == (7, 3)

    fresh = make_engine("sqlite://")
    init_db(fresh)
    with Session(fresh) as other:
        import_csv(other, path, attested=True, now=NOW)
        assert snapshot(session) == snapshot(other)
    fresh.dispose()


# --- the set-wise path ends where the row-by-row rules end ----------------------------------------------------------

STATES = [SmsStatus.not_opted_in, SmsStatus.pending, SmsStatus.opted_in, SmsStatus.opted_out]


def _prepare_shop(session):
    """Customers in every status on the phones of merge.csv, one with the request limit reached."""
    for i, phone in enumerate(["+14155550301", "+14155550302", "+14155550303", "+14155550304", "+14155550305"]):
        make_customer(
            session, status=STATES[i % 4], phone_number=phone, first_name=f"Old{i}", now=dt.datetime(2026, 11, 1, 18, 0)
        )
    c = make_customer(
        session, status=SmsStatus.pending, phone_number="+14155550901", now=dt.datetime(2026, 11, 1, 18, 0)
    )
    c.opt_in_requests = 2
    session.add(c)
    session.commit()


@pytest.mark.parametrize("attested", [True, False])
@pytest.mark.parametrize("when", [NOW, NIGHT])
@pytest.mark.parametrize("prepared", [True, False])
def test_the_bulk_import_ends_in_the_same_state_as_the_row_by_row_rules(session, tmp_path, attested, when, prepared):
    path = tmp_path / "mixed.csv"
    path.write_bytes(fixture("merge.csv").read_bytes() + b"415-555-0901,Limit,\n415-555-0902,New,yes\n")
    if prepared:
        _prepare_shop(session)
    import_csv(session, path, attested=attested, now=when)
    bulk = snapshot(session)

    other_engine = make_engine("sqlite://")
    init_db(other_engine)
    with Session(other_engine) as other:
        if prepared:
            _prepare_shop(other)
        import_reference.import_file(other, path, attested=attested, now=when)
        assert bulk == snapshot(other)
    other_engine.dispose()


def test_an_import_never_sends_a_text_and_asks_no_one(session, tmp_path):
    """Rulebook §11: an import never sends a text (the old "send opt-in requests" option is gone)."""
    make_customer(session, status=SmsStatus.pending, phone_number="+14155550901")
    path = write_csv(
        tmp_path,
        "night.csv",
        ["phone,sms_opt_in", "415-555-0901,", "415-555-0902,", "415-555-0903,yes", "+44 20 7946 0958,no"],
    )
    for when in (NIGHT, NOW):
        report = import_csv(session, path, attested=False, now=when)
        assert (report.requests_sent, report.requests_queued, report.requests_blocked) == (0, 0, 0)
    assert session.exec(select(Message)).all() == []
    assert status_of(session, "+14155550902") == "not_opted_in"
    assert status_of(session, "+14155550901") == "pending"  # unchanged: nothing re-asked
    with pytest.raises(TypeError):
        import_csv(session, path, attested=False, now=NOW, send_requests=True)


# --- dry run, report and history ------------------------------------------------------------------------------------


def test_a_dry_run_writes_nothing_and_predicts_the_import(session):
    make_customer(session, status=SmsStatus.opted_out, phone_number="+14155550304")
    before = snapshot(session)
    dry = service.dry_run(session, fixture("merge.csv"), attested=True, now=NOW)
    assert snapshot(session) == before and counts(session)["runs"] == 0
    real = import_csv(session, fixture("merge.csv"), attested=True, now=NOW)
    assert dry.counts() == real.counts()
    assert dry.dry_run and not real.dry_run


def test_the_import_history_keeps_file_counts_attestation_and_errors(session):
    report = import_csv(session, fixture("bad_rows.csv"), attested=True, now=NOW, by="owner")
    runs = service.history(session)
    assert len(runs) == 1
    run = runs[0]
    assert (run.file_name, run.by, run.attested, run.origin) == ("bad_rows.csv", "owner", True, "csv_import")
    assert run.counts["created"] == 4 and run.counts["invalid"] == 4
    assert run.finished_at is not None and run.started_at == NOW
    assert service.run_errors_csv(session, run.id) == report.errors_csv()


def test_the_history_is_paged_newest_first(session, tmp_path):
    for i in range(3):
        import_csv(session, write_csv(tmp_path, f"f{i}.csv", ["phone", f"415-555-084{i}"]), attested=False, now=NOW)
    first = service.history(session, limit=2)
    assert [r.file_name for r in first] == ["f2.csv", "f1.csv"]
    assert [r.file_name for r in service.history(session, limit=2, before_id=first[-1].id)] == ["f0.csv"]


def test_the_download_of_rows_not_imported_lists_them_in_row_order():
    report = ImportReport(
        invalid=[RowError(5, "phone", "not a number", "abc")],
        warnings=[RowError(2, "email", "not an email address", "x@", imported=True)],
    )
    lines = report.errors_csv().decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines] == ["row", "2", "5"]
    assert lines[1].endswith("imported without this value") and lines[2].endswith("row not imported")


# --- Issue 11: numbers that cannot be a customer's mobile, names with links -------------------------------------


@pytest.mark.parametrize("existing", [False, True])
def test_premium_rate_and_toll_free_rows_are_reported_invalid_with_the_reason(session, tmp_path, existing):
    if existing:  # a shop with customers takes the other path through the phone check
        customers.add_customer(session, phone="415-555-0100", first_name="Old")
    lines = [
        "phone,first_name,sms_opt_in",
        "415-555-0101,Ann,yes",
        "1-900-555-0123,Premium,yes",
        "(800) 555-0123,Tollfree,no",
        "+44 871 234 5678,Uk,yes",
        "+1 500 555 0006,Pcs,yes",
        "4155550102,Bo,yes",
    ]
    report = import_csv(session, write_csv(tmp_path, "pump.csv", lines), attested=True, now=NOW)
    assert [(e.row, e.reason) for e in report.invalid] == [
        (3, "premium-rate number, not a mobile"),
        (4, "toll-free number, not a mobile"),
        (5, "premium-rate number, not a mobile"),
        (6, "personal forwarding number, not a mobile"),
    ]
    assert [e.value for e in report.invalid] == [
        "1-900-555-0123",
        "(800) 555-0123",
        "+44 871 234 5678",
        "+1 500 555 0006",
    ]
    phones_ = set(session.exec(select(Customer.phone)).all())
    assert {"+14155550101", "+14155550102"} <= phones_
    assert not any(p.startswith(("+1900", "+1800", "+44")) for p in phones_)


@pytest.mark.parametrize("existing", [False, True])
def test_a_name_with_a_link_is_dropped_and_reported_but_the_row_and_its_opt_out_are_imported(
    session, tmp_path, existing
):
    if existing:
        customers.add_customer(session, phone="415-555-0100", first_name="Old")
    lines = [
        "phone,first_name,last_name,sms_opt_out",
        "415-555-0101,visit http://phish.example/x,Lee,yes",
        "415-555-0102,Ann,Call 415 555 0199,",
        "415-555-0103,O'Brien,St. John,",
    ]
    report = import_csv(session, write_csv(tmp_path, "names.csv", lines), attested=True, now=NOW)
    assert not report.invalid
    assert [(w.row, w.column, w.reason, w.imported) for w in report.warnings] == [
        (2, "first_name", "first name not imported: it contains a web address or link", True),
        (3, "last_name", "last name not imported: it contains a phone number", True),
    ]
    by_phone = {c.phone: c for c in session.exec(select(Customer)).all()}
    assert (by_phone["+14155550101"].first_name, by_phone["+14155550101"].last_name) == ("", "Lee")
    assert by_phone["+14155550101"].sms_status is SmsStatus.opted_out  # an opt-out is never lost over a name
    assert (by_phone["+14155550102"].first_name, by_phone["+14155550102"].last_name) == ("Ann", "")
    assert (by_phone["+14155550103"].first_name, by_phone["+14155550103"].last_name) == ("O'Brien", "St. John")


# --- merged from main: the 2026 state sending rules and live texting apply to an import's requests ----------------

SUNDAY_10_IN_HOUSTON = dt.datetime(2026, 12, 6, 16, 0)  # 10:00 CST, 08:00 in San Francisco


def _requests_to(session, phone):
    session.expire_all()
    return session.exec(select(Message).where(Message.phone == phone, Message.kind == "opt_in_request")).all()


def test_with_live_texting_a_pos_syncs_requests_wait_for_the_background_sender(session, tmp_path, monkeypatch):
    from core.importing import pos
    from core.messaging import providers

    monkeypatch.setattr(providers, "is_live", lambda _session: True)
    src = pos.create_source(session, name="Dutchie", now=NOW)
    pos.set_request_after(session, src.id, (NOW - dt.timedelta(days=30)).date(), now=NOW)
    path = write_csv(tmp_path, "list.csv", ["phone", "415-555-0124"])
    report = pos.sync(session, source_id=src.id, file=path, now=NOW)
    assert report.requests_sent == 1
    [msg] = _requests_to(session, "+14155550124")
    assert (msg.status, msg.sent_at) == (MessageStatus.sending, None)

"""What an import tells the owner: the errors that stop it, the rows it could not import, its report and
the figures the Import and Integrations pages show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from core.errors import OwnerError
from core.models import Channel

#: progress(fraction done, what is happening), called as an import goes
Progress = Callable[[float, str], None]


class ImportProblem(OwnerError):
    """The file cannot be imported as it is; the message says why and what to do. Nothing was written."""


class EmptyFile(ImportProblem):
    pass


class NotASpreadsheet(ImportProblem):
    pass


class FileTooLarge(ImportProblem):
    pass


class TooManyColumns(ImportProblem):
    pass


class NoPhoneColumn(ImportProblem):
    pass


class MappingProblem(ImportProblem):
    pass


class NoValidPhones(ImportProblem):
    pass


@dataclass(slots=True)
class RowError:
    """A row that was not imported (or, with imported=True, imported without one value)."""

    row: int
    column: str
    reason: str
    value: str = ""
    imported: bool = False


@dataclass
class ImportReport:
    file_name: str = ""
    file_hash: str = ""
    origin: str = "csv_import"
    dry_run: bool = False
    attested: bool = False
    rows: int = 0  # data rows read (blank lines not counted)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)  # imported, one value dropped
    opted_in: int = 0  # phones the file says opted in that are opted in after the import
    opted_out: int = 0  # phones the file says opted out
    no_status: int = 0  # phones with a blank (or "no") status: their status is left as it is
    not_attested: int = 0  # phones the file says opted in, imported as not opted in (no attestation / POS)
    kept_opted_out: int = 0  # phones the file says opted in, kept opted out by an opt-out (database or file)
    duplicates_in_file: int = 0  # rows whose phone an earlier-applied row of the file already has
    requests_sent: int = 0
    requests_queued: int = 0
    requests_blocked: int = 0
    requests_already: int = 0  # already asked for this file (or this POS date setting): nothing new
    request_reasons: dict[str, int] = field(default_factory=dict)
    mapping: dict[str, Optional[str]] = field(default_factory=dict)
    encoding: str = ""
    delimiter: str = ""
    import_run_id: Optional[int] = None
    seconds: float = 0.0

    @property
    def phones(self) -> int:
        return self.created + self.updated + self.unchanged

    def counts(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "invalid": len(self.invalid),
            "warnings": len(self.warnings),
            "opted_in": self.opted_in,
            "opted_out": self.opted_out,
            "no_status": self.no_status,
            "not_attested": self.not_attested,
            "kept_opted_out": self.kept_opted_out,
            "duplicates_in_file": self.duplicates_in_file,
            "requests_sent": self.requests_sent,
            "requests_queued": self.requests_queued,
            "requests_blocked": self.requests_blocked,
            "requests_already": self.requests_already,
            "request_reasons": dict(self.request_reasons),
        }

    def errors_csv(self) -> bytes:
        return errors_csv(sorted(self.invalid + self.warnings, key=lambda e: e.row))


def errors_csv(errors: list[RowError]) -> bytes:
    """Rows not imported (and values dropped) as CSV an owner opens in a spreadsheet."""
    from core.exports import csv_bytes, safe_cell

    return csv_bytes(
        ["row", "column", "value", "reason", "what happened"],
        (
            [
                e.row,
                safe_cell(e.column),
                safe_cell(e.value),
                safe_cell(e.reason),
                "imported without this value" if e.imported else "row not imported",
            ]
            for e in errors
        ),
    )


@dataclass
class Figure:
    label: str
    value: int
    help: str = ""


def summary(report: ImportReport) -> dict[str, list[Figure]]:
    """The report as the Import and Integrations pages show it, in three groups."""
    pos_sync = report.origin == Channel.pos_sync.value
    will = "will be" if report.dry_run else "were"
    out = {
        "customers": [
            Figure("New customers", report.created, f"Phones not in Opt-In Desk yet: they {will} added."),
            Figure("Updated", report.updated, "Existing customers whose status, name or email changes."),
            Figure("Unchanged", report.unchanged, "Existing customers the file has nothing new about."),
            Figure(
                "Rows not imported",
                len(report.invalid),
                "Invalid phone numbers and unreadable rows: download them below, fix, import again.",
            ),
        ],
        "consent": [
            Figure("Opted in", report.opted_in, "Rows that say opted in, with your attestation."),
            Figure("Opted out", report.opted_out, "Rows that say opted out: always recorded."),
            Figure(
                "No status",
                report.no_status,
                "A blank (or no) opt-in value: the status stays as it is; new customers are not opted in.",
            ),
            Figure(
                "Kept opted out",
                report.kept_opted_out,
                "Rows that say opted in for a phone that opted out (earlier, or elsewhere in the file): opt-out wins.",
            ),
            Figure(
                "Opt-ins not applied",
                report.not_attested,
                "POS data never opts anyone in."
                if pos_sync
                else "Rows that say opted in, imported as not opted in because the attestation box is not ticked.",
            ),
            Figure(
                "Duplicate phones",
                report.duplicates_in_file,
                "Rows whose phone appears earlier in the file (in any format); opt-out wins among them.",
            ),
        ],
        "requests": [
            Figure("Requests sent", report.requests_sent, "Opt-in requests that go out now."),
            Figure(
                "Queued for quiet hours",
                report.requests_queued,
                "Requests that wait until the sending window opens for the customer.",
            ),
            Figure("Refused", report.requests_blocked, "Request limits: at most 2 per phone, never 2 within 24 hours."),
            Figure("Asked before", report.requests_already, "Already asked for this file (or this date setting)."),
        ],
    }
    return out

"""Planning an import set-wise: what each phone's row does to its customer (by the consent rules of
core.consent.rules, built into numpy tables), and which rows would change nothing (counted, not written).

Status codes and report buckets are small integers so that a million phones are decided with two array
lookups; the tables are built by calling rules.list_statement on every cell, never typed again here.
"""

from __future__ import annotations

import array
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

import numpy as np
from sqlmodel import Session

from core.consent.rules import ListOutcome, list_statement
from core.importing.values import V_IN, V_NO, V_NONE, V_OUT, V_OUT_OVER_IN, detail_hash
from core.models import SmsStatus

if TYPE_CHECKING:
    from core.importing.scan import Scan

# Status codes (numpy arrays) and the buckets of the report.
STATUS_CODES = {
    SmsStatus.not_opted_in.value: 0,
    SmsStatus.pending.value: 1,
    SmsStatus.opted_in.value: 2,
    SmsStatus.opted_out.value: 3,
}
STATUS_OF_CODE = {v: k for k, v in STATUS_CODES.items()}
S_NOT, S_PENDING, S_IN, S_OUT = 0, 1, 2, 3
BUCKET_FIELDS = tuple(o.value for o in ListOutcome)  # ImportReport's fields, in ListOutcome's order
T_NONE = -1  # no status change

# What a row's verdict (values.V_*) says, for rules.list_statement: (says, the file also says opted in)
_SAYS = {
    V_NONE: (None, False),
    V_NO: (SmsStatus.not_opted_in, False),
    V_IN: (SmsStatus.opted_in, False),
    V_OUT: (SmsStatus.opted_out, False),
    V_OUT_OVER_IN: (SmsStatus.opted_out, True),
}


def decide_tables(may_opt_in: bool) -> tuple[np.ndarray, np.ndarray]:
    """(bucket, new status code or T_NONE) indexed [verdict, status code]: rules.list_statement on every cell."""
    buckets = np.zeros((len(_SAYS), len(STATUS_CODES)), dtype=np.int8)
    targets = np.zeros((len(_SAYS), len(STATUS_CODES)), dtype=np.int8)
    for v, (says, also_in) in _SAYS.items():
        for status, code in STATUS_CODES.items():
            outcome, new = list_statement(says, SmsStatus(status), attested=may_opt_in, file_also_says_in=also_in)
            buckets[v, code] = BUCKET_FIELDS.index(outcome.value)
            targets[v, code] = T_NONE if new is None else STATUS_CODES[new.value]
    return buckets, targets


class Known:
    """The shop's customers in one scan: phone digits (sorted), id, status code and hashes of first name,
    last name and email (0 = blank). Used to skip parsing numbers customers already have, and to leave
    out of pass 2 the rows that would change nothing. Only when there are at most LOAD_ALL customers."""

    LOAD_ALL = 3_000_000

    def __init__(self, phone, cid, status, h_first, h_last, h_email):
        self.phone, self.id, self.status = phone, cid, status
        self.h_first, self.h_last, self.h_email = h_first, h_last, h_email

    @classmethod
    def load(cls, session: Session) -> tuple[Optional["Known"], int]:
        """(snapshot or None when there are too many customers, number of customers)."""
        conn = session.connection()
        count = conn.exec_driver_sql("SELECT count(*) FROM customer").scalar() or 0
        if count > cls.LOAD_ALL:
            return None, count
        cols = [array.array("q") for _ in range(6)]
        ph, ids, st, hf, hl, he = cols
        codes = STATUS_CODES
        if count:
            cursor = conn.connection.driver_connection.cursor()
            try:
                cursor.execute("SELECT phone, id, sms_status, first_name, last_name, email FROM customer")
                while True:
                    part = cursor.fetchmany(50_000)
                    if not part:
                        break
                    for phone, i, s, f, la, e in part:
                        ph.append(int(phone[1:]))
                        ids.append(i)
                        st.append(codes[s])
                        hf.append(detail_hash(f))
                        hl.append(detail_hash(la))
                        he.append(detail_hash(e))
            finally:
                cursor.close()
        arrays = [np.frombuffer(a, dtype=np.int64) if len(a) else np.zeros(0, dtype=np.int64) for a in cols]
        order = np.argsort(arrays[0], kind="stable")
        return cls(*(a[order] for a in arrays)), count

    def find(self, phone_digits: np.ndarray) -> np.ndarray:
        """Index of each phone in the snapshot, -1 when absent."""
        if len(self.phone) == 0:
            return np.full(len(phone_digits), -1, dtype=np.int64)
        pos = np.searchsorted(self.phone, phone_digits)
        pos[pos >= len(self.phone)] = 0
        return np.where(self.phone[pos] == phone_digits, pos, -1)

    def has(self, candidates: list[int]) -> set[int]:
        """The candidates (E.164 digits) customers already have."""
        if not candidates or len(self.phone) == 0:
            return set()
        arr = np.array(candidates, dtype=np.int64)
        return set(arr[self.find(arr) >= 0].tolist())


@dataclass
class Plan:
    """The applied rows pass 2 must write (spreadsheet row numbers ascending, their phones and verdicts), and
    the counts of the others: rows whose customer exists and would not change at all are left out."""

    rows: list[int]
    phones: list[int]
    verdicts: list[int]
    skipped: int = 0
    skipped_buckets: dict[str, int] = field(default_factory=dict)


def make_plan(scan: Scan, known: Optional[Known], *, may_opt_in: bool, pos: bool, send_requests: bool) -> Plan:
    rows_idx = scan.apply_rows  # ascending data-row indexes
    phone = scan.phone[rows_idx]
    verdict = scan.apply_verdict
    plan = Plan(rows=scan.rownum[rows_idx].tolist(), phones=phone.tolist(), verdicts=verdict.tolist())
    if known is None or len(known.phone) == 0 or not scan.hashed or pos or len(rows_idx) == 0:
        return plan  # nothing known (or a POS sync, which records every contact): every row is written
    at = known.find(phone)
    exists = at >= 0
    safe = np.where(exists, at, 0)
    status = np.where(exists, known.status[safe], S_NOT)
    buckets, targets = decide_tables(may_opt_in)
    bucket = buckets[verdict, status]
    target = targets[verdict, status]
    d = scan.details[rows_idx]
    same = exists & (target == T_NONE)
    for col, stored in ((0, known.h_first), (1, known.h_last), (2, known.h_email)):
        same &= (d[:, col] == 0) | (d[:, col] == stored[safe])
    if send_requests:
        same &= (status != S_NOT) & (status != S_PENDING)  # a request may be due: written
    keep = ~same
    plan.rows = scan.rownum[rows_idx[keep]].tolist()
    plan.phones = phone[keep].tolist()
    plan.verdicts = verdict[keep].tolist()
    plan.skipped = int(same.sum())
    counts = np.bincount(bucket[same], minlength=len(BUCKET_FIELDS))
    plan.skipped_buckets = {name: int(counts[i]) for i, name in enumerate(BUCKET_FIELDS)}
    return plan

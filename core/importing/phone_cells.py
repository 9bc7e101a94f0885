"""Phone cells to E.164 numbers, in bulk: each distinct spelling checked once, in parallel when there are many.

A US/Canada number written in a common way ("(415) 555-0123", "415.555.0123", "4155550123.0",
"1.4155550123E+10", "+1 415 555 0123 x12") is reduced to its E.164 digits with a regular expression
(nanp_candidate) and checked with phonenumbers without parsing text (nanp_valid); a number a customer
already has is not checked again (it was checked when it was saved); anything else goes through
core.phones.normalize_mobile (which also refuses premium-rate and toll-free numbers).

Checking numbers is most of an import's work and needs no database, so when more than PARALLEL_MIN
numbers are to be checked they go, BATCH at a time, to a pool of worker processes (forkserver: workers
are forked from a clean process that holds no database connection and no thread) while this process
goes on reading the file. Fewer numbers are checked here: a pool's start-up would cost more than it saves.
Both ways call check_numbers, so both give the same answers.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
import threading
import types
from typing import Callable, Iterable, Optional, Union

import phonenumbers

from core import phones

PARALLEL_MIN = 20_000  # numbers to check before a pool is worth starting
BATCH = 5_000  # numbers per task sent to a worker
MAX_WORKERS = 4
WORKER_TIMEOUT = 300  # seconds to wait for one batch before checking it here instead

Key = Union[int, str]  # what is checked: E.164 digits of a US/Canada candidate, or the raw cell


# US/Canada numbers written the usual ways. Digits only ([0-9], never other scripts); extensions as
# phonenumbers reads them; the E.164 form is "+1" + the ten digits. Everything else goes to phones.normalize.
_NANP_RE = re.compile(
    r"(?:(\+1|1)[ .\-]?)?(?:\(([2-9][0-9]{2})\)|([2-9][0-9]{2}))[ .\-]?([0-9]{3})[ .\-]?([0-9]{4})"
    r"(?:\s*(?:[xX#]|[eE][xX][tT]\.?|[eE]xtension)\s*[0-9]{1,6})?"
)
_EXCEL_FLOAT_RE = re.compile(r"(\+?[0-9]{10,11})\.0+")
_EXCEL_SCI_RE = re.compile(r"([0-9])\.([0-9]{9,10})[eE]\+?([0-9]{1,2})")


def nanp_candidate(raw: str, nanp_region: bool) -> int:
    """The E.164 digits of a common US/Canada spelling of a number (0 when it is not one).

    Only a reduction, never a validity check: the caller validates the candidate once (or finds it
    among customers, which were validated when they were saved)."""
    s = raw.strip()
    if s[:1] == "'":
        s = s.lstrip("'").strip()
    m = _EXCEL_FLOAT_RE.fullmatch(s)
    if m:
        s = m.group(1)
    elif "E" in s or "e" in s:
        m = _EXCEL_SCI_RE.fullmatch(s)
        if m is None or len(m.group(2)) != int(m.group(3)):
            return 0  # shortened by Excel, or not a number: phones.normalize says which
        s = m.group(1) + m.group(2)
    m = _NANP_RE.fullmatch(s)
    if m is None:
        return 0
    if m.group(1) is None and not nanp_region:
        return 0
    if m.group(1) == "1" and not nanp_region:
        return 0
    return int("1" + (m.group(2) or m.group(3)) + m.group(4) + m.group(5))


_PhoneNumber = phonenumbers.PhoneNumber
_is_valid_number = phonenumbers.is_valid_number
_is_valid_for_region = phonenumbers.is_valid_number_for_region


def nanp_valid(candidate: int) -> bool:
    """phonenumbers' verdict on +1 and ten digits (what phones.normalize checks), without parsing text:
    the number phonenumbers.parse builds from "+1XXXXXXXXXX" is exactly this one. The US check comes
    first because is_valid_number tries the US first for +1 (it has no leading-digits rule), so a number
    valid in the US is valid; others get the full check. When False, phones.normalize gives the reason."""
    number = _PhoneNumber(country_code=1, national_number=candidate - 10_000_000_000)
    return _is_valid_for_region(number, "US") or _is_valid_number(number)


def check_numbers(region: str, keys: list[Key]) -> list[Key]:
    """For each key, the E.164 digits (int) of the mobile number it is, or why it is not one (str).
    Pure and picklable: runs here or in a worker process."""
    out: list[Key] = []
    normalize_mobile, not_mobile = phones.normalize_mobile, phones.not_mobile
    for key in keys:
        if isinstance(key, int):
            if nanp_valid(key) and not not_mobile(f"+{key}"):
                out.append(key)
                continue
            text = f"+{key}"
        else:
            text = key
        try:
            out.append(int(normalize_mobile(text, region)[1:]))
        except phones.InvalidPhone as exc:
            out.append(exc.reason)
    return out


_STARTING = threading.Lock()


def _pool(workers: int):
    """A process pool whose workers never hold a database connection (forkserver where there is one, else
    spawn) and import only this module: the parent's __main__ (Streamlit's launcher, a script, pytest) is
    hidden while the workers start, so they never run it again (multiprocessing would re-import it)."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        ctx.set_forkserver_preload([__name__])
    with _STARTING:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")  # no __file__, no __spec__: nothing to re-import
        try:
            return ctx.Pool(workers)
        finally:
            if main is not None:
                sys.modules["__main__"] = main


class PhoneResolver:
    """Distinct raw phone cells -> ids; at the end, each id's E.164 digits (int > 0) or -(index of its reason
    in `reasons`). `known(candidates)` returns the candidates customers already have (not checked again)."""

    def __init__(self, region: str, known: Callable[[list[int]], set[int]]):
        self.region = region
        self.nanp = phonenumbers.country_code_for_region(region) == 1
        self.known = known
        self.workers = 0  # worker processes started (0: every number checked in this process)
        self.parallel_failed = False
        self.ids: dict[str, int] = {"": 0}
        self.raws: list[str] = [""]
        self.key_of: list[Key] = [""]  # per id
        self.result: dict[Key, Optional[Key]] = {"": phones._EMPTY}  # key -> E.164 digits, reason, None: queued
        self.todo: list[Key] = []  # keys waiting to be sent or checked
        self.pending: list = []  # (keys, AsyncResult)
        self.pool = None
        self.parsed = 0

    def id_of(self, raws: Iterable[str]) -> list[int]:
        """The id of each raw cell (new cells are queued for checking)."""
        ids, out, new = self.ids, [], []
        for raw in raws:
            i = ids.get(raw)
            if i is None:
                i = ids[raw] = len(self.raws)
                self.raws.append(raw)
                new.append(raw)
            out.append(i)
        if new:
            self._queue(new)
        return out

    def _queue(self, new: list[str]) -> None:
        nanp = self.nanp
        keys: list[Key] = [
            (nanp_candidate(raw, nanp) if len(raw) <= phones.MAX_INPUT_LENGTH else 0) or raw for raw in new
        ]
        self.key_of.extend(keys)
        result = self.result
        fresh = list({k for k in keys if isinstance(k, int) and k not in result})
        if fresh:
            for k in self.known(fresh):
                result[k] = k
        for k in keys:
            if k not in result:
                result[k] = None  # queued: the answer comes from check_numbers
                self.todo.append(k)
        if self.pool is None and not self.parallel_failed and len(self.todo) >= PARALLEL_MIN:
            workers = min(MAX_WORKERS, os.cpu_count() or 1)
            if workers > 1:
                try:
                    self.pool, self.workers = _pool(workers), workers
                except OSError:  # no processes to be had (a locked-down host): check them here
                    self.pool, self.workers = None, 0
                    self.parallel_failed = True
        if self.pool is not None:
            while len(self.todo) >= BATCH:
                self._send(self.todo[:BATCH])
                del self.todo[:BATCH]

    def _send(self, keys: list[Key]) -> None:
        self.pending.append((keys, self.pool.apply_async(check_numbers, (self.region, keys))))

    def finish(self) -> tuple[list[int], list[str]]:
        """(code per id, reasons): every queued number checked; the pool (if any) stopped."""
        try:
            if self.todo:
                if self.pool is not None:
                    self._send(self.todo)
                else:
                    self._take(self.todo, check_numbers(self.region, self.todo))
                self.todo = []
            for keys, pending in self.pending:
                try:
                    answers = pending.get(timeout=WORKER_TIMEOUT)
                except multiprocessing.TimeoutError:  # a worker was lost (killed): check its batch here
                    answers = check_numbers(self.region, keys)
                self._take(keys, answers)
            self.pending = []
        finally:
            self.close()
        reasons = [""]
        reason_index: dict[str, int] = {}
        codes: list[int] = []
        result = self.result
        for key in self.key_of:
            r = result[key]
            if isinstance(r, int):
                codes.append(r)
                continue
            i = reason_index.get(r)
            if i is None:
                i = reason_index[r] = len(reasons)
                reasons.append(r)
            codes.append(-i)
        return codes, reasons

    def _take(self, keys: list[Key], answers: list[Key]) -> None:
        self.parsed += len(keys)
        self.result.update(zip(keys, answers))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None

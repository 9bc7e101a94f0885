"""The work an owner's session may reuse between the steps of one import (Check the file, then Import).

No module-level cache: an ImportCache belongs to whoever makes it (the Import page keeps one per browser
session in st.session_state; a call without one makes its own and drops it at the end). It is bounded (the
last MAX_XLSX workbook copies and the last MAX_SCANS scans), and a scan is reused only for the same
engine (the same shop's database), the same file (SHA-256 and size), region and column mapping.
"""

from __future__ import annotations

import os
import weakref
from collections import OrderedDict
from typing import Any, Hashable, Optional


def _remove(paths: set[str]) -> None:
    for path in list(paths):
        try:
            os.unlink(path)
        except OSError:
            pass
        paths.discard(path)


class ImportCache:
    """Temporary CSV copies of .xlsx workbooks (by the workbook's SHA-256) and pass-1 scans (by engine and
    file). The copies are deleted when evicted, on close(), or when the cache is garbage collected (at the
    latest when the process exits)."""

    MAX_XLSX = 2
    MAX_SCANS = 2

    def __init__(self) -> None:
        self._xlsx: OrderedDict[str, str] = OrderedDict()
        self._scans: OrderedDict[tuple, tuple[weakref.ref, Any]] = OrderedDict()
        self._paths: set[str] = set()
        self._finalizer = weakref.finalize(self, _remove, self._paths)

    def __enter__(self) -> "ImportCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Delete the workbook copies and forget the scans."""
        self._xlsx.clear()
        self._scans.clear()
        _remove(self._paths)

    # --- .xlsx workbooks as CSV ------------------------------------------------------------------------

    def xlsx_copy(self, file_hash: str) -> Optional[str]:
        path = self._xlsx.get(file_hash)
        if path is None or not os.path.exists(path):
            return None
        self._xlsx.move_to_end(file_hash)
        return path

    def keep_xlsx_copy(self, file_hash: str, path: str) -> None:
        self._xlsx[file_hash] = path
        self._paths.add(path)
        while len(self._xlsx) > self.MAX_XLSX:
            _, old = self._xlsx.popitem(last=False)
            _remove({old})
            self._paths.discard(old)

    @property
    def xlsx_paths(self) -> list[str]:
        return list(self._xlsx.values())

    # --- Pass-1 scans ----------------------------------------------------------------------------------

    def scan(self, engine: Any, key: Hashable) -> Any:
        hit = self._scans.get((id(engine), key))
        if hit is None or hit[0]() is not engine:
            return None
        self._scans.move_to_end((id(engine), key))
        return hit[1]

    def keep_scan(self, engine: Any, key: Hashable, scan: Any) -> None:
        self._scans[(id(engine), key)] = (weakref.ref(engine), scan)
        while len(self._scans) > self.MAX_SCANS:
            self._scans.popitem(last=False)

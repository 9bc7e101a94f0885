"""Importing customer lists (CSV, Excel) and POS exports (rulebook §7, §8). What lives where:

service.py      the entry points: import_csv, dry_run, import_pos_file, history, run_errors_csv
page_model.py   what the Import and Integrations pages show, worded (times by core.clock.shop_time)
report.py       ImportProblem and its kinds (what stops an import), RowError, ImportReport, summary (page figures)
limits.py       how big a file may be, and what the owner is told when it is bigger
reading.py      opening a file: size, SHA-256, kind, encoding, delimiter, header, rows; sniff, read
xlsx.py         an .xlsx workbook's first sheet as a temporary CSV (zip-bomb checks)
cache.py        ImportCache: workbook copies and scans one owner's session reuses (no module-level cache)
mapping.py      which column holds what: FIELDS, guess_mapping, resolve_mapping
values.py       what cells mean: opt-in / opt-out values (V_*), names and email as they would be saved
phone_cells.py  phone cells to E.164 numbers in bulk, in worker processes for big files
scan.py         pass 1: read every row, keep a few numbers per row, one row per phone
plan.py         the consent rules (core.consent.rules.list_statement) as numpy tables; which rows change nothing
apply.py        pass 2: write the planned rows chunk by chunk (per-phone locks, version checks)
requests.py     opt-in requests in bulk (the rules of outbox.send), POS date-setting rounds
sql.py          set-wise SQL on the session's connection
context.py      what one import carries between steps; the dedupe keys that make re-running it change nothing
pos.py          POS sources: settings, syncs, the date setting's requests
"""

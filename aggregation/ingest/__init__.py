"""The ingestion pipeline's mechanics (R13.1): read → map → clean → validate → encrypt → COPY → set-based upsert.

One concern per module: `sniffing` (format, encoding), `readers` (CSV, XLSX, JSON), `mapping` (header → data
items), `planning` (what a dataset's rows must look like), `validation` (one value against its item: the reasons),
`columnar` (a batch cleaned and validated as polars column expressions that only accept; every other value goes to
`validation` for its verdict), `processing` (RowProcessor: a batch of rows → COPY text), `parallel` (CSV byte
ranges in parser processes),
`staging` (stage table, set-based upsert), `encryption` (row digest, stored masked forms), `rotation` (key
rotation of stored records). The jobs that drive it are aggregation.services.ingest.

Shape of a load (why it is fast and crash-safe):

1. The file is streamed (never loaded whole): CSV through the csv module over a decoding text stream, XLSX
   through openpyxl's read-only reader, JSON through an incremental array/JSON-Lines decoder.
2. Rows go in batches through `RowProcessor` — cleaning, validation, AES-GCM encryption of the subject key
   and personal items, their masked forms (Record.masked), blind index and row digest — and come back as
   ready-made COPY text plus the rejections.
   A large CSV file is read by several processes, each taking byte ranges of it (aggregation.ingest.parallel),
   while this process COPYs what they return in file order.
3. Accepted rows are COPYed into a session-local TEMP table (not WAL-logged). Duplicate keys in the file are
   listed in the rejected-rows report (every row of the key, and the one that wins) and removed there (the last
   occurrence wins). Items the file has no column for keep their stored values (`staging.stage_keep_items`,
   unless the clerk chose to empty them).
4. One transaction (`upsert_from_stage`, called by the finishing service) runs two set-based statements: an
   UPDATE of the changed keys (picked by a join on the row digest) whose RETURNING feeds their history rows, then
   an INSERT … SELECT of the new keys whose RETURNING feeds theirs. Unchanged rows are not touched,
   so a re-run after a crash changes nothing twice; a crash before the commit leaves nothing behind.
"""

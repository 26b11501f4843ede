"""A load's checked rows between reading the file and writing the resource table (issue 18): the canonical frames
(RowProcessor(frames=True)) gathered into batches of BATCH_ROWS and spilled to Arrow IPC files in a temporary
directory, so memory holds a batch, not the file. The file is read, checked and reported outside any transaction
(the job's progress is visible meanwhile); the spilled batches are written in the job's one transaction at the end
(storage.writing.write_batches), or not at all when the job refuses the file.

It takes the place of the records' stage table (ingest.staging.StageWriter): `write`, `pause` and `abort` as there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import polars as pl

# Rows per spilled batch: the writer's batch (storage.writing; storage.preparing's parallel threshold).
BATCH_ROWS = 50_000


class FrameSpill:
    def __init__(self, batch_rows: int = BATCH_ROWS):
        self.batch_rows = batch_rows
        self.dir = tempfile.mkdtemp(prefix="ingest-spill-")
        self.paths: list[str] = []
        self._pending: list[pl.DataFrame] = []
        self._rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        if not frame.height:
            return
        self._pending.append(frame)
        self._rows += frame.height
        if self._rows >= self.batch_rows:
            self._flush()

    def pause(self) -> None:
        """Nothing to end (the stage's COPY had to be): batches are spilled as they fill, the rest by `batches`."""

    def abort(self, exc: BaseException) -> None:
        self.close()

    def truncate(self) -> None:
        """Forget everything spilled (the file is read again by one process)."""
        for path in self.paths:
            os.unlink(path)
        self.paths, self._pending, self._rows = [], [], 0

    def _flush(self) -> None:
        if not self._pending:
            return
        # The frames of one file share their columns; a batch of a parallel range may be narrower in type only.
        frame = pl.concat(self._pending, how="vertical_relaxed", rechunk=True)
        path = os.path.join(self.dir, f"{len(self.paths):06d}.arrow")
        frame.write_ipc(path)
        self.paths.append(path)
        self._pending, self._rows = [], 0

    def batches(self, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
        """The spilled batches in row order (their `columns` only, default all). Touches no database: the writer
        reads them in its producer thread."""
        self._flush()
        for path in list(self.paths):
            yield pl.read_ipc(path, columns=columns)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        self.paths, self._pending, self._rows = [], [], 0

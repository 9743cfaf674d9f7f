"""Dataset readers and writers: JSONL (plain, gzip, zstd), CSV and Parquet, streamed with constant memory.

A reader yields `RawItem`s (line number plus raw bytes or an already-decoded row) so that parsing can happen
in worker processes; `parse_item` turns one into a record dict or a malformed-input reason.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

import orjson

from tuneguard.core import UserError, atomic_writer

FORMATS = ("jsonl", "csv", "parquet")


@dataclass(frozen=True, slots=True)
class DatasetFormat:
    kind: str  # jsonl | csv | parquet
    compression: str | None  # gzip | zstd | None

    @classmethod
    def of(cls, path: Path) -> DatasetFormat:
        suffixes = [s.lower() for s in path.suffixes[-2:]]
        compression = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}.get(
            suffixes[-1:][0] if suffixes else ""
        )
        base = suffixes[-2] if compression and len(suffixes) == 2 else (suffixes[-1] if suffixes else "")
        kind = {
            ".jsonl": "jsonl",
            ".ndjson": "jsonl",
            ".json": "jsonl",
            ".csv": "csv",
            ".parquet": "parquet",
            ".pq": "parquet",
        }.get(base)
        if kind is None or (compression and kind == "parquet"):
            raise UserError(
                f"{path}: unsupported dataset format (use .jsonl/.ndjson/.json, optionally .gz/.zst, "
                ".csv or .parquet)"
            )
        return cls(kind, compression)


@dataclass(frozen=True, slots=True)
class RawItem:
    line: int
    raw: bytes | None = None  # a JSONL line (without the newline)
    row: dict[str, Any] | None = None  # a CSV or Parquet row

    def __reduce__(self) -> tuple:
        # Items cross a process boundary per record (--workers, Ray shards): the slots dataclass's default
        # pickle costs 4.9 us per item to dump, a plain constructor call 1.8 (bench/RESULTS.md "## data").
        return RawItem, (self.line, self.raw, self.row)


@dataclass(frozen=True, slots=True)
class LineBatch:
    """Consecutive JSONL lines (without their newlines), the first numbered `first_line`.

    What crosses to a pool or Ray worker for JSON Lines input: one list of bytes pickles and unpickles at C
    speed, where a RawItem per line cost the reading process ~2 us per record (bench/RESULTS.md "## data").
    """

    first_line: int
    lines: list[bytes]

    def __len__(self) -> int:
        return len(self.lines)

    def items(self) -> list[RawItem]:
        first = self.first_line
        return [RawItem(first + i, raw=line) for i, line in enumerate(self.lines)]

    def __reduce__(self) -> tuple:
        return LineBatch, (self.first_line, self.lines)


Batch = list[RawItem] | LineBatch


def items_of(batch: Batch) -> list[RawItem]:
    """The RawItems of a batch, whichever form `DatasetReader.batches` gave it."""
    return batch.items() if type(batch) is LineBatch else batch


def split_batch(batch: Batch, parts: int) -> list[Batch]:
    """The batch as up to `parts` consecutive smaller batches of the same form (line numbers kept)."""
    step = max(1, -(-len(batch) // parts))
    if type(batch) is LineBatch:
        first, lines = batch.first_line, batch.lines
        return [LineBatch(first + lo, lines[lo : lo + step]) for lo in range(0, len(lines), step)]
    return [batch[lo : lo + step] for lo in range(0, len(batch), step)]


class CountingReader(io.RawIOBase):
    """Counts bytes read from the underlying (compressed) file so progress can show MB/s of input."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        n = self._fh.readinto(buf)
        self.count += n or 0
        return n or 0

    def close(self) -> None:
        self._fh.close()
        super().close()


class DatasetReader:
    """Iterate a dataset file item by item; `bytes_read` tracks progress through the file on disk."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"{self.path}: not a readable file")
        self.format = DatasetFormat.of(self.path)
        self.size = self.path.stat().st_size
        self._counter: CountingReader | None = None
        self.columns: list[str] | None = None
        self.schema = None

    @property
    def bytes_read(self) -> int:
        return self._counter.count if self._counter is not None else 0

    def _open_bytes(self) -> IO[bytes]:
        try:
            self._counter = CountingReader(open(self.path, "rb"))  # noqa: SIM115 - closed by the caller
        except OSError as exc:
            raise UserError(f"{self.path}: cannot read: {exc.strerror}") from None
        raw = io.BufferedReader(self._counter, 1 << 20)
        if self.format.compression == "gzip":
            return gzip.GzipFile(fileobj=raw, mode="rb")
        if self.format.compression == "zstd":
            import zstandard

            return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw), 1 << 20)
        return raw

    def __iter__(self) -> Iterator[RawItem]:
        if self.format.kind == "jsonl":
            for batch in self.batches(4096):
                yield from batch.items()
            return
        with self._read_errors():
            yield from self._csv() if self.format.kind == "csv" else self._parquet()

    def batches(self, size: int) -> Iterator[Batch]:
        """The input in batches of `size` items, in order: JSON Lines as LineBatch (cheap to send to a
        worker), CSV and Parquet rows as lists of RawItems."""
        if self.format.kind != "jsonl":
            rows = iter(self)
            while batch := list(islice(rows, size)):
                yield batch
            return
        with self._read_errors():
            yield from self._jsonl_batches(size)

    @contextmanager
    def _read_errors(self) -> Iterator[None]:
        try:
            yield
        except (OSError, EOFError) as exc:
            raise UserError(
                f"{self.path}: cannot read ({self.format.compression or self.format.kind}): {exc}"
            ) from None

    def _jsonl_batches(self, size: int) -> Iterator[LineBatch]:
        with self._open_bytes() as fh:
            if fh.peek(64)[:64].lstrip()[:1] == b"[":
                raise UserError(f"{self.path}: a JSON array, not JSON Lines; write one object per line "
                                "(e.g. `jq -c '.[]' in.json > out.jsonl`)")
            first, lines = 1, []
            for line in fh:
                lines.append(line.rstrip(b"\r\n"))
                if len(lines) >= size:
                    yield LineBatch(first, lines)
                    first, lines = first + len(lines), []
            if lines:
                yield LineBatch(first, lines)

    def _csv(self) -> Iterator[RawItem]:
        with self._open_bytes() as fh:
            text = io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline="")
            reader = csv.DictReader(text)
            self.columns = list(reader.fieldnames or [])
            for n, row in enumerate(reader, 2):  # line 1 is the header
                yield RawItem(n, row={k: v for k, v in row.items() if k is not None})

    def _parquet(self) -> Iterator[RawItem]:
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises ArrowInvalid and friends
            raise UserError(f"{self.path}: not a readable Parquet file: {exc}") from None
        self.schema = pf.schema_arrow
        self.columns = list(self.schema.names)
        n = 0
        self._counter = CountingReader(io.BytesIO())
        total_rows = max(1, pf.metadata.num_rows)
        for batch in pf.iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                n += 1
                self._counter.count = int(self.size * n / total_rows)
                yield RawItem(n, row=row)


def parse_item(item: RawItem) -> tuple[dict[str, Any] | None, list[str]]:
    """(record, issues): issues name malformed input (malformed_json, invalid_utf8, not_an_object,
    blank_line)."""
    if item.row is not None:
        return item.row, []
    raw = item.raw or b""
    if not raw.strip():
        return None, ["blank_line"]
    issues: list[str] = []
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
            issues.append("invalid_utf8")
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None, [*issues, "malformed_json"]
    if not isinstance(value, dict):
        return None, [*issues, "not_an_object"]
    return value, issues


class DatasetWriter:
    """Write records in the input's format to a temp file that is renamed over `path` only on success."""

    def __init__(
        self, path: str | os.PathLike[str], fmt: DatasetFormat, columns: list[str] | None = None, schema=None
    ) -> None:
        self.path = Path(path)
        self.format = fmt
        self.columns = columns
        self.schema = schema
        self.count = 0

    def __enter__(self) -> DatasetWriter:
        self._ctx = atomic_writer(self.path, "wb")
        self._fh = self._ctx.__enter__()
        self._stream: Any = self._fh
        if self.format.compression == "gzip":
            self._stream = gzip.GzipFile(fileobj=self._fh, mode="wb", mtime=0)
        elif self.format.compression == "zstd":
            import zstandard

            self._stream = zstandard.ZstdCompressor().stream_writer(self._fh, closefd=False)
        self._csv = None
        self._pq = None
        self._rows: list[dict] = []
        return self

    def write(self, record: dict[str, Any], raw: bytes | None = None) -> None:
        """Write one record; `raw` (the unchanged input line) is written verbatim when given."""
        self.count += 1
        kind = self.format.kind
        if kind == "jsonl":
            self._stream.write((raw if raw is not None else orjson.dumps(record)) + b"\n")
        elif kind == "csv":
            if self._csv is None:
                self._start_csv(self.columns or list(record))
            self._csv.writerow(record)
        else:
            self._rows.append(record)
            if len(self._rows) >= 4096:
                self._flush_parquet()

    def _start_csv(self, columns: list[str]) -> None:
        self._text = io.TextIOWrapper(self._stream, encoding="utf-8", newline="", write_through=True)
        self._csv = csv.DictWriter(self._text, fieldnames=columns, extrasaction="ignore")
        self._csv.writeheader()

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._pq is None:
            schema = self.schema or pa.Table.from_pylist(self._rows).schema
            self.schema = schema
            self._pq = pq.ParquetWriter(self._fh, schema)
        if self._rows:
            self._pq.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                if self.format.kind == "parquet" and (self._rows or self.schema is not None or self._pq):
                    self._flush_parquet()
                    self._pq.close()
                elif self.format.kind == "csv":
                    if self._csv is None and self.columns:
                        self._start_csv(self.columns)
                    if self._csv is not None:
                        self._text.flush()
                        self._text.detach()
                if self._stream is not self._fh:
                    self._stream.close()  # ends the gzip member / zstd frame; the file itself stays open
        finally:
            self._ctx.__exit__(exc_type, exc, tb)

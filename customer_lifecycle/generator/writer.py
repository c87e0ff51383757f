"""Writes contract tables as CSV or Parquet, all columns text, one file per table or a directory
of parts (<prefix><table>/part-00000.<ext>, one per block) for chunked tables."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import contract

SAMPLE_ROWS = 64
_CSV_SPECIAL = set(',"\r\n')


def _csv_cell(v) -> str:
    if v is None:
        return ""
    s = str(v)
    if any(ch in _CSV_SPECIAL for ch in s) or s == "":
        return '"' + s.replace('"', '""') + '"'
    return s


def csv_bytes(columns: list[pa.Array]) -> bytes:
    """Rows as CSV text: comma separated, null -> empty cell. Good values never need quoting."""
    n = len(columns[0])
    out = []
    step = 500_000
    for lo in range(0, n, step):
        cols = [c.slice(lo, step) for c in columns]
        line = pc.binary_join_element_wise(*cols, ",", null_handling="replace", null_replacement="")
        line = pc.binary_join_element_wise(line, "", "\n")
        if isinstance(line, pa.ChunkedArray):
            line = line.combine_chunks()
        offsets = np.frombuffer(line.buffers()[1], dtype=np.int32, count=len(line) + 1 + line.offset)
        start, end = int(offsets[line.offset]), int(offsets[line.offset + len(line)])
        out.append(line.buffers()[2].to_pybytes()[start:end])
    return b"".join(out)


class TableWriter:
    def __init__(self, out_dir: Path, fmt: str, prefix: str, chunked: set[str]):
        if fmt not in ("csv", "parquet"):
            raise ValueError("format must be csv or parquet")
        self.out_dir, self.fmt, self.prefix, self.chunked = Path(out_dir), fmt, prefix, set(chunked)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.rows: dict[str, int] = {}
        self.parts: dict[str, int] = {}
        self.samples: dict[str, list[dict]] = {}
        self._open: dict[str, object] = {}
        self.paths: dict[str, Path] = {}

    def path_of(self, table: str) -> Path:
        ext = self.fmt
        if table in self.chunked:
            return self.out_dir / f"{self.prefix}{table}"
        return self.out_dir / f"{self.prefix}{table}.{ext}"

    def remove_stale(self, tables):
        """Delete this writer's own output names for these tables (<prefix><table>.csv|.parquet and
        <prefix><table>/part-*), left by an earlier run into the same directory."""
        for t in tables:
            for p in (self.out_dir / f"{self.prefix}{t}.csv", self.out_dir / f"{self.prefix}{t}.parquet"):
                if p.is_file():
                    p.unlink()
            d = self.out_dir / f"{self.prefix}{t}"
            if d.is_dir():
                for f in d.glob("part-*"):
                    f.unlink()
                if not any(d.iterdir()):
                    d.rmdir()

    def start(self, tables):
        """Register the tables to write (so that an empty table still gets a file)."""
        for t in tables:
            self.rows[t] = 0
            self.parts[t] = 0
            self.paths[t] = self.path_of(t)

    def write(self, table: str, cols: dict[str, pa.Array]):
        names = contract.columns(table)
        if list(cols) != names:
            raise ValueError(f"{table}: columns {list(cols)} != contract {names}")
        arrays = [cols[c] for c in names]
        n = len(arrays[0])
        if any(len(a) != n for a in arrays):
            raise ValueError(f"{table}: columns of different lengths")
        if table in self.chunked and n == 0 and self.parts[table] > 0:
            return
        if len(self.samples.setdefault(table, [])) < SAMPLE_ROWS and n:
            k = min(n, SAMPLE_ROWS - len(self.samples[table]))
            sl = pa.table([a.slice(0, k) for a in arrays], names=names)
            self.samples[table].extend(sl.to_pylist())
        self._emit(table, names, arrays)
        self.rows[table] += n

    def write_rows(self, table: str, rows: list[list]):
        """Append literal rows (lists of str/None in contract column order)."""
        names = contract.columns(table)
        arrays = [pa.array([r[i] for r in rows], pa.string()) for i in range(len(names))]
        self._emit(table, names, arrays, literal=True)

    def _emit(self, table, names, arrays, literal=False):
        if table in self.chunked:
            d = self.path_of(table)
            d.mkdir(exist_ok=True)
            path = d / f"part-{self.parts[table]:05d}.{self.fmt}"
            self.parts[table] += 1
            if self.fmt == "csv":
                with open(path, "wb") as fh:
                    fh.write((",".join(names) + "\n").encode())
                    fh.write(self._csv(arrays, literal))
            else:
                pq.write_table(pa.table(arrays, names=names), path, compression="snappy")
            return
        if table not in self._open:
            path = self.path_of(table)
            if self.fmt == "csv":
                fh = open(path, "wb")
                fh.write((",".join(names) + "\n").encode())
            else:
                fh = pq.ParquetWriter(path, pa.schema([(c, pa.string()) for c in names]), compression="snappy")
            self._open[table] = fh
        fh = self._open[table]
        if self.fmt == "csv":
            fh.write(self._csv(arrays, literal))
        elif len(arrays[0]):
            fh.write_table(pa.table(arrays, names=names))

    @staticmethod
    def _csv(arrays, literal):
        if not len(arrays[0]):
            return b""
        if literal:
            rows = zip(*[a.to_pylist() for a in arrays])
            return "".join(",".join(_csv_cell(v) for v in r) + "\n" for r in rows).encode()
        return csv_bytes(arrays)

    def close(self):
        for table in list(self.rows):
            if table in self.chunked:
                if self.parts[table] == 0:
                    names = contract.columns(table)
                    self._emit(table, names, [pa.array([], pa.string()) for _ in names])
                continue
            if table not in self._open:
                names = contract.columns(table)
                self._emit(table, names, [pa.array([], pa.string()) for _ in names])
        for fh in self._open.values():
            fh.close()
        self._open.clear()

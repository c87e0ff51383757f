"""Vectorised formatting of typed numpy columns into Arrow string arrays (every raw value is text).

Conventions of the raw files:
  timestamps  'YYYY-MM-DD HH:MM:SS' (UTC); or the same instant in local time with its offset,
              'YYYY-MM-DDTHH:MM:SS+02:00'; or 'YYYY-MM-DDTHH:MM:SSZ'
  dates       'YYYY-MM-DD'
  money       2 decimals ('12.50'); integers plain; rates 6 decimals
  null        an empty cell (Arrow null)

Strings are built as byte matrices in numpy (one row per value) and handed to Arrow as buffers.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

STRING = pa.string()
TS_PLAIN, TS_LOCAL, TS_Z = 0, 1, 2


def _from_matrix(M: np.ndarray, lengths=None, right=False, valid=None) -> pa.Array:
    """Arrow strings from a (n, w) uint8 matrix: whole rows, or the first (last if right) `lengths` bytes."""
    n, w = M.shape
    if valid is not None:
        lengths = np.where(valid, w if lengths is None else lengths, 0)
    if lengths is None:
        data = np.ascontiguousarray(M).reshape(-1)
        offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    else:
        cols = np.arange(w)
        mask = cols[None, :] >= (w - lengths)[:, None] if right else cols[None, :] < lengths[:, None]
        data = M[mask]
        offsets = np.r_[0, np.cumsum(lengths, dtype=np.int64)]
    if offsets[-1] >= 2**31:
        raise ValueError("string column too large for one array")
    bitmap = None
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid.astype(np.uint8), bitorder="little"))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data), bitmap)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    out = np.empty((values.size, width), np.uint8)
    v = values.astype(np.int64, copy=True)
    for j in range(width - 1, -1, -1):
        out[:, j] = v % 10 + 48
        v //= 10
    return out


def _ndigits(values: np.ndarray) -> np.ndarray:
    v = np.maximum(values, 1)
    return np.floor(np.log10(v)).astype(np.int64) + 1


def _const(text: str, n: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text.encode(), np.uint8), (n, len(text)))


def ids(prefix: str, numbers, width: int, null_mask=None) -> pa.Array:
    v = np.asarray(numbers, dtype=np.int64)
    valid = None if null_mask is None else ~np.asarray(null_mask, bool)
    v = v if valid is None else np.where(valid, v, 0)
    if v.size and int(v.max()) >= 10**width:
        width = len(str(int(v.max())))
    M = np.concatenate([_const(prefix, v.size), _digits(v, width)], axis=1)
    return _from_matrix(M, valid=valid)


def codes(vocab, index, null_mask=None) -> pa.Array:
    idx = np.asarray(index)
    if null_mask is not None:
        idx = np.where(null_mask, 0, idx)
    out = pc.take(pa.array(list(vocab), STRING), pa.array(idx.astype(np.int32)))
    return _with_nulls(out, null_mask)


def integers(values, null_mask=None) -> pa.Array:
    v = np.asarray(values, dtype=np.int64)
    neg = v < 0
    a = np.abs(v)
    w = int(_ndigits(a).max()) + 1 if a.size else 1
    M = _digits(a, w)
    lengths = _ndigits(a) + neg
    M[np.arange(v.size), w - lengths] = np.where(neg, 45, M[np.arange(v.size), w - lengths])
    out = _from_matrix(M, lengths=lengths, right=True)
    return _with_nulls(out, null_mask)


def money(cents, null_mask=None) -> pa.Array:
    """Non-negative integer cents -> 'd.cc'."""
    c = np.asarray(cents, dtype=np.int64)
    if (c < 0).any():
        raise ValueError("money() formats non-negative amounts only")
    whole = c // 100
    w = int(_ndigits(whole).max()) if c.size else 1
    M = np.concatenate([_digits(whole, w), _const(".", c.size), _digits(c % 100, 2)], axis=1)
    out = _from_matrix(M, lengths=_ndigits(whole) + 3, right=True)
    return _with_nulls(out, null_mask)


def decimals(values, places: int) -> pa.Array:
    return pa.array([f"{v:.{places}f}" for v in np.asarray(values, dtype=float)], STRING)


_TOD: np.ndarray | None = None


def _tod() -> np.ndarray:
    """(86400, 8) bytes 'HH:MM:SS' for every second of a day (built once)."""
    global _TOD
    if _TOD is None:
        s = np.arange(86400)
        h, m, x = s // 3600, s // 60 % 60, s % 60
        _TOD = np.concatenate([_digits(h, 2), _const(":", s.size), _digits(m, 2), _const(":", s.size),
                               _digits(x, 2)], axis=1)
    return _TOD


def _day_matrix(days: np.ndarray) -> np.ndarray:
    """(n, 10) bytes 'YYYY-MM-DD' of epoch day numbers, through the distinct days."""
    if not days.size:
        return np.zeros((0, 10), np.uint8)
    lo, hi = int(days.min()), int(days.max())
    text = "".join(np.datetime_as_string(np.arange(lo, hi + 1).astype("datetime64[D]"), unit="D").tolist())
    vocab = np.frombuffer(text.encode(), np.uint8).reshape(-1, 10)
    return np.take(vocab, days - lo, axis=0)


def dates(epoch_days_or_seconds, is_seconds: bool = True) -> pa.Array:
    v = np.asarray(epoch_days_or_seconds, dtype=np.int64)
    return _from_matrix(_day_matrix(v // 86400 if is_seconds else v))


_OFFSETS = np.arange(-14, 15) * 3600
_OFFSET_TEXT = np.frombuffer("".join(("+" if o >= 0 else "-") + f"{abs(o) // 3600:02d}:{abs(o) % 3600 // 60:02d}"
                                     for o in _OFFSETS).encode(), np.uint8).reshape(-1, 6)


def timestamps(seconds, style=None, offset_seconds=None, null_mask=None) -> pa.Array:
    """style per row: TS_PLAIN (UTC, space), TS_LOCAL (local time + offset), TS_Z (UTC, 'T', 'Z')."""
    s = np.asarray(seconds, dtype=np.int64)
    n = s.size
    valid = None if null_mask is None else ~np.asarray(null_mask, bool)
    if style is None:
        style = np.zeros(n, np.int8)
    style = np.asarray(style)
    local = style == TS_LOCAL
    any_local = bool(local.any())
    shown = s
    if any_local:
        off = np.asarray(offset_seconds, dtype=np.int64)
        shown = s.copy()
        shown[local] += off[local]
    day, sec = np.divmod(shown, 86400)
    M = np.empty((n, 25), np.uint8)
    M[:, :10] = _day_matrix(day)
    M[:, 10] = np.where(style == TS_PLAIN, 32, 84)          # ' ' or 'T'
    M[:, 11:19] = np.take(_tod(), sec, axis=0)
    M[:, 19] = 90                                            # 'Z' (kept only for TS_Z)
    if any_local:
        M[local, 19:25] = _OFFSET_TEXT[off[local] // 3600 + 14]
    lengths = np.where(style == TS_PLAIN, 19, np.where(local, 25, 20))
    if valid is None and n and (lengths == lengths[0]).all():
        return _from_matrix(M[:, :int(lengths[0])])
    if valid is not None:
        lengths = np.where(valid, lengths, 0)
    return _from_matrix(M, lengths=lengths, valid=valid)


def _with_nulls(arr, null_mask):
    if null_mask is None:
        return arr.cast(STRING) if arr.type != STRING else arr
    mask = pa.array(np.asarray(null_mask, dtype=bool))
    return pc.if_else(mask, pa.scalar(None, STRING), arr.cast(STRING))


def nulls(n: int) -> pa.Array:
    return pa.nulls(n, STRING)

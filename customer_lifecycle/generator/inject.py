"""Bad-row injection: adds rows, never changes good ones.

For each written table, about bad_rate x (good rows) extra rows are appended (at least one of each
kind that applies to the table), each with exactly ONE defect, so that the staging layer (checks
in contract.REASON_CODES order, first failing wins) gives it exactly the recorded reason. Injected
rows are copies of good rows (from the writer's sample of each table) with a fresh key that no good
row uses or references, then one defect:

  missing_key            first key column null
  missing_value          a not_null, non-key column null
  unparseable_timestamp  a timestamp/date column like 'not-a-date' or '2025-02-30 10:00:00'
  unparseable_number     a money/number column 'abc', an integer column '2.5'
  future_timestamp       a timestamp/date in 2099
  negative_amount        a money column below 0
  out_of_range           outside the contract range (quantity 0, score 11, clicks -5, rate 0)
  unknown_code           a value outside the code vocabulary (status 'lost', ...)
  duplicate_row          an exact copy of a good row (keeps the good row's key; the copy is recorded)
  conflicting_key        two rows sharing one fresh key that differ in one column (both recorded)
  orphan_reference       a reference to a parent id that does not exist (e.g. 'C_MISSING_000001')
  missing_exchange_rate  (orders) currency 'JPY', which has no exchange rate

row_key is the key columns joined with '|', a null part written as '' (as the staging layer does).
"""
from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from .. import contract

KEY_PREFIX = {"customers": "C", "orders": "O", "order_items": "OI", "products": "P", "events": "E",
              "email_events": "EE", "campaigns": "CMP", "nps_responses": "R", "referrals": "RF"}
PARENT_PREFIX = {"customers": "C", "orders": "O", "products": "P", "campaigns": "CMP"}
UNKNOWN_CODE = {"order_statuses": "lost", "event_types": "teleport", "email_event_types": "forwarded",
                "campaign_types": "spam_blast"}
BAD_TIMESTAMPS = ("not-a-date", "2025-02-30 10:00:00", "2025-13-01 08:00:00", "yesterday")
BAD_DATES = ("not-a-date", "2025-02-30", "2025-13-45")


def applicable_kinds(table: str, present: set[str]) -> list[str]:
    spec = contract.raw_contract()[table]
    types = spec["columns"]
    key = spec["key"]
    kinds = ["missing_key"]
    if [c for c in spec.get("not_null", []) if c not in key]:
        kinds.append("missing_value")
    if any(t in ("timestamp", "date") for t in types.values()):
        kinds.append("unparseable_timestamp")
    if any(t in ("money", "integer", "number") for t in types.values()):
        kinds.append("unparseable_number")
    if any(t in ("timestamp", "date") for t in types.values()):
        kinds.append("future_timestamp")
    if any(t == "money" for t in types.values()):
        kinds.append("negative_amount")
    if spec.get("ranges"):
        kinds.append("out_of_range")
    if spec.get("codes"):
        kinds.append("unknown_code")
    kinds += ["duplicate_row", "conflicting_key"]
    if [c for c, parent in spec.get("references", {}).items() if parent in present]:
        kinds.append("orphan_reference")
    if table == "orders":
        kinds.append("missing_exchange_rate")
    return kinds


class Injector:
    def __init__(self, rng: np.random.Generator, samples: dict[str, list[dict]], present: set[str], start: date):
        self.rng = rng
        self.samples = samples
        self.present = present
        self.start = start
        self.n = 0                       # running number for fresh values

    def _next(self) -> int:
        self.n += 1
        return self.n

    def _fresh_key(self, table: str, row: dict):
        spec = contract.raw_contract()[table]
        key, types = spec["key"], spec["columns"]
        n = self._next()
        for c in key:
            if types[c] == "date":
                row[c] = (self.start - timedelta(days=n)).isoformat()
            elif c == key[0]:
                row[c] = f"{KEY_PREFIX.get(table, 'X')}_BAD_{n:06d}"

    @staticmethod
    def row_key(table: str, row: dict) -> str:
        return "|".join((row[c] or "").strip() for c in contract.raw_contract()[table]["key"])

    def rows_for(self, table: str, n_good: int, bad_rate: float) -> list[tuple[dict, str]]:
        sample = self.samples.get(table) or []
        if not sample or bad_rate <= 0:
            return []
        kinds = applicable_kinds(table, self.present)
        target = max(len(kinds), int(round(bad_rate * n_good)))
        out: list[tuple[dict, str]] = []
        i = 0
        while len(out) < target or i < len(kinds):
            kind = kinds[i % len(kinds)]
            out.extend(self._make(table, kind, sample, i // len(kinds)))
            i += 1
        return out

    def _make(self, table: str, kind: str, sample: list[dict], round_no: int) -> list[tuple[dict, str]]:
        spec = contract.raw_contract()[table]
        types, key = spec["columns"], spec["key"]
        tpl = dict(sample[int(self.rng.integers(len(sample)))])
        if kind == "duplicate_row":
            return [(dict(sample[round_no % len(sample)]), kind)]
        row = dict(tpl)
        self._fresh_key(table, row)
        pick = lambda cols: cols[round_no % len(cols)]  # noqa: E731
        if kind == "missing_key":
            row[key[0]] = None
        elif kind == "missing_value":
            row[pick([c for c in spec["not_null"] if c not in key])] = None
        elif kind == "unparseable_timestamp":
            col = pick([c for c, t in types.items() if t in ("timestamp", "date")])
            if col in key:
                row[col] = f"not-a-date-{self._next()}"
            elif types[col] == "date":
                row[col] = BAD_DATES[round_no % len(BAD_DATES)]
            else:
                row[col] = BAD_TIMESTAMPS[round_no % len(BAD_TIMESTAMPS)]
        elif kind == "unparseable_number":
            col = pick([c for c, t in types.items() if t in ("money", "integer", "number")])
            row[col] = "2.5" if types[col] == "integer" else ("abc", "1.2.3", "n/a")[round_no % 3]
        elif kind == "future_timestamp":
            col = pick([c for c, t in types.items() if t in ("timestamp", "date")])
            n = self._next()
            d = date(2099, 1, 1) + timedelta(days=n % 3000)
            row[col] = d.isoformat() if types[col] == "date" else f"{d.isoformat()} 12:00:00"
        elif kind == "negative_amount":
            col = pick([c for c, t in types.items() if t == "money"])
            row[col] = f"-{abs(float(row[col] or 0)) + 1:.2f}"
        elif kind == "out_of_range":
            col = pick(list(spec["ranges"]))
            lo, hi = spec["ranges"][col]
            if types[col] == "integer":
                row[col] = str(int(hi) + 1) if hi is not None else str(int(lo) - 1 if lo > 0 else -5)
            else:
                row[col] = "0" if lo is not None and lo > 0 else str(-1)
        elif kind == "unknown_code":
            col = pick(list(spec["codes"]))
            row[col] = UNKNOWN_CODE.get(spec["codes"][col], "unknown_value")
        elif kind == "conflicting_key":
            other = dict(row)
            self._vary(table, other)
            return [(row, kind), (other, kind)]
        elif kind == "orphan_reference":
            col = pick([c for c, parent in spec["references"].items() if parent in self.present])
            parent = spec["references"][col]
            row[col] = f"{PARENT_PREFIX.get(parent, 'X')}_MISSING_{self._next():06d}"
        elif kind == "missing_exchange_rate":
            row["currency"] = "JPY"
        return [(row, kind)]

    def _vary(self, table: str, row: dict):
        """Change one non-key column to another valid value."""
        if table == "customers":
            row["email"] = f"conflict{self._next()}@example.com"
        elif table == "orders":
            row["order_total"] = f"{float(row['order_total']) + 1:.2f}"
        elif table == "order_items":
            row["quantity"] = str(int(row["quantity"]) + 1)
        elif table == "products":
            row["list_price"] = f"{float(row['list_price']) + 1:.2f}"
        elif table == "events":
            row["device"] = "mobile" if row["device"] != "mobile" else "desktop"
        elif table == "email_events":
            row["event_type"] = "click" if row["event_type"] != "click" else "open"
        elif table == "campaigns":
            row["campaign_name"] = (row["campaign_name"] or "") + " (copy)"
        elif table == "nps_responses":
            row["score"] = "3" if row["score"] != "3" else "9"
        elif table == "referrals":
            cands = [r["customer_id"] for r in self.samples.get("customers", [])
                     if r["customer_id"] != row["referred_customer_id"]]
            row["referred_customer_id"] = cands[0]
        elif table == "marketing_spend":
            row["spend"] = f"{float(row['spend']) + 1:.2f}"
        elif table == "exchange_rates":
            row["rate_to_reporting"] = f"{float(row['rate_to_reporting']) + 0.01:.6f}"


def inject(writer, rng: np.random.Generator, bad_rate: float, start: date, out_dir: Path) -> dict:
    """Append bad rows to every written table and list them in injected_bad_rows.csv.
    Returns {table: {reason: count}}."""
    present = {t for t, n in writer.rows.items()}
    inj = Injector(rng, writer.samples, present, start)
    records, summary = [], {}
    for table in contract.TABLES:
        if table not in writer.rows:
            continue
        rows = inj.rows_for(table, writer.rows[table], bad_rate)
        if not rows:
            continue
        cols = contract.columns(table)
        writer.write_rows(table, [[r[c] for c in cols] for r, _ in rows])
        for r, reason in rows:
            records.append((table, Injector.row_key(table, r), reason))
            summary.setdefault(table, {}).setdefault(reason, 0)
            summary[table][reason] += 1
    with open(Path(out_dir) / "injected_bad_rows.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["table", "row_key", "reason"])
        w.writerows(records)
    return summary

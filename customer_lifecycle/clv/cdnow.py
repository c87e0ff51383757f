"""The CDNOW sample (Fader, Hardie & Lee 2005): loader, calibration summaries, and conversion to
the project's raw contract tables.

The file has one row per purchase record, whitespace separated, no header:
master customer id, sample customer id, date (YYYYMMDD), number of CDs, dollar value.
It holds the 2,357 customers (a 1/10 sample) of the cohort that made its first purchase at CDNOW
in the first quarter of 1997, followed to the end of June 1998.
"""
from __future__ import annotations

import csv
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pandas as pd

from customer_lifecycle import contract

PROJECT_DIR = Path(__file__).resolve().parents[2]
SAMPLE_PATH = PROJECT_DIR / "pytests" / "fixtures" / "cdnow" / "CDNOW_sample.txt"

# The calibration period of Fader, Hardie & Lee (2005): 1997-01-01 .. 1997-09-30, 39 weeks.
CALIBRATION_END = pd.Timestamp("1997-09-30")
DAYS_PER_WEEK = 7.0

PRODUCT_ID = "cdnow-cd"
"""product_id of every converted order item (CDNOW records carry no product)."""


def load_transactions(path: str | Path = SAMPLE_PATH) -> pd.DataFrame:
    """One row per record of the CDNOW file, in file order.

    Columns: customer_id (the master id, as written, e.g. '00004'), sample_id, date
    (datetime64, midnight), quantity (int, number of CDs), value (float, dollars).
    """
    frame = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "quantity", "value"],
        dtype={"customer_id": str, "sample_id": str, "date": str, "quantity": "int64", "value": "float64"},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


def daily_purchases(transactions: pd.DataFrame) -> pd.DataFrame:
    """Records of one customer on one day merged into one purchase (quantity and value summed)."""
    return (
        transactions.groupby(["customer_id", "date"], as_index=False, sort=True)
        .agg(quantity=("quantity", "sum"), value=("value", "sum"))
    )


def calibration_summary(
    transactions: pd.DataFrame,
    calibration_end: str | pd.Timestamp = CALIBRATION_END,
    days_per_unit: float = DAYS_PER_WEEK,
) -> pd.DataFrame:
    """Per-customer (x, t_x, T, mean repeat value) over purchases on or before calibration_end.

    Conventions (those of the published CDNOW summary behind Fader, Hardie & Lee 2005, which
    reproduce its estimates; a first purchase on 1997-01-01 gives T = 272 / 7 = 38.86 weeks):
      * all records of a customer on one day are one purchase, its value the sum of the records;
      * x   = number of purchase days after the first purchase day, up to calibration_end;
      * t_x = (last purchase day - first purchase day) in days / days_per_unit (0 when x = 0);
      * T   = (calibration_end - first purchase day) in days / days_per_unit;
      * mean_value = mean value of the x repeat purchases (dollars), NaN when x = 0.
    Index: customer_id. Customers whose first purchase is after calibration_end are left out.
    Read the age column as summary["T"] (summary.T is the DataFrame's transpose).
    """
    end = pd.Timestamp(calibration_end)
    daily = daily_purchases(transactions)
    first = daily.groupby("customer_id")["date"].transform("min")
    daily = daily.assign(first=first)
    calibration = daily[daily["date"] <= end]
    repeat = calibration[calibration["date"] > calibration["first"]]
    grouped = calibration.groupby("customer_id")
    summary = pd.DataFrame({
        "x": grouped.size() - 1,
        "t_x": (grouped["date"].max() - grouped["first"].first()).dt.days / days_per_unit,
        "T": (end - grouped["first"].first()).dt.days / days_per_unit,
    })
    summary["mean_value"] = repeat.groupby("customer_id")["value"].mean().reindex(summary.index)
    return summary


def _unit_price(total: Decimal, quantity: int) -> Decimal:
    """Fewest decimals (2 to 6) for total / quantity such that round(quantity * price, 2) == total."""
    for places in range(2, 7):
        price = (total / quantity).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        if (price * quantity).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) == total:
            return price
    raise ValueError(f"no unit price with at most 6 decimals reproduces {total} for quantity {quantity}")


def _timestamp(date: pd.Timestamp) -> str:
    return date.strftime("%Y-%m-%d 00:00:00")


def write_raw_tables(transactions: pd.DataFrame, directory: str | Path) -> dict[str, Path]:
    """Write customers.csv, orders.csv and order_items.csv in the raw contract's layout.

    Columns are exactly customer_lifecycle.contract.columns(table), in that order. One order per
    CDNOW record (same-day records stay separate orders): order_id 'cdnow-<line number, 5 digits>',
    status 'delivered', currency 'USD', order_total = the dollar value as written, ordered_at =
    'YYYY-MM-DD 00:00:00'. One order item per order: order_item_id = order_id + '-1', product_id
    'cdnow-cd', quantity = number of CDs, unit_price = value / quantity with the fewest decimals
    (2 to 6) for which round(quantity * unit_price, 2) equals order_total exactly (how the project's
    staging computes line_total). Customers: customer_id = the master id, signed_up_at = first
    purchase; email, country and acquisition_channel are empty (unknown).
    Returns {table: path}.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tx = transactions.reset_index(drop=True)
    order_ids = [f"cdnow-{i + 1:05d}" for i in range(len(tx))]

    first_purchase = tx.groupby("customer_id", sort=True)["date"].min()
    values = {
        "customer_id": list(first_purchase.index),
        "email": [""] * len(first_purchase),
        "signed_up_at": [_timestamp(d) for d in first_purchase],
        "country": [""] * len(first_purchase),
        "acquisition_channel": [""] * len(first_purchase),
    }
    customers = pd.DataFrame(values)

    # Values are given in cents, so formatting with two decimals recovers them exactly.
    totals = [Decimal(f"{v:.2f}") for v in tx["value"]]
    orders = pd.DataFrame({
        "order_id": order_ids,
        "customer_id": tx["customer_id"],
        "ordered_at": [_timestamp(d) for d in tx["date"]],
        "status": "delivered",
        "currency": "USD",
        "order_total": [str(t) for t in totals],
    })
    quantities = tx["quantity"].astype(int).tolist()
    if min(quantities) < 1:
        raise ValueError("every CDNOW record must have at least one CD")
    order_items = pd.DataFrame({
        "order_item_id": [f"{o}-1" for o in order_ids],
        "order_id": order_ids,
        "product_id": PRODUCT_ID,
        "quantity": quantities,
        "unit_price": [str(_unit_price(t, q)) for t, q in zip(totals, quantities)],
    })

    tables = {"customers": customers, "orders": orders, "order_items": order_items}
    paths = {}
    for table, frame in tables.items():
        columns = contract.columns(table)
        if sorted(columns) != sorted(frame.columns):
            raise ValueError(f"{table}: contract columns {columns} differ from {list(frame.columns)}")
        path = out / f"{table}.csv"
        frame[columns].to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        paths[table] = path
    return paths


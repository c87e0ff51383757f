"""Queries of the published marts for the dashboard, one function per question.

The marts are read where readers read them (docs block `publishing`):
- DuckDB (default): the warehouse file (LIFECYCLE_DUCKDB_PATH, default warehouse/lifecycle.duckdb),
  schema main_marts, opened read-only for each query and closed after it. A build publishes a new
  file by renaming it over the old one, so a connection held open would keep reading the old build.
- PostgreSQL (LIFECYCLE_TARGET=postgres): the LIFECYCLE_PG_* connection, schema
  <LIFECYCLE_PG_SCHEMA>_marts, a read-only session per query.

Every query is written once, in PostgreSQL's parameter style (`%(name)s`). Relations and columns
appear as `{name}` fields: a mart's name becomes its schema-qualified relation, any other field a
column the caller chose from a fixed list; both are quoted as identifiers, never pasted as text.
Filter values are always query parameters.
"""
from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd

# The marts the dashboard reads: all published (macros/publish/publishing.sql published_marts(),
# plus fct_build_record).
MARTS = (
    "dim_customers", "fct_build_record", "fct_churn_monthly", "fct_customer_clv", "fct_funnel_sessions",
    "fct_funnel_steps", "fct_kpis_monthly", "fct_lifecycle_stage_history", "fct_lifecycle_stage_monthly",
    "fct_lifecycle_transitions", "fct_retention_cohorts", "fct_retention_cohorts_by_channel", "fct_rfm_segments",
)
DUCKDB_MARTS_SCHEMA = "main_marts"
STAGES = ("awareness", "consideration", "conversion", "retention", "loyalty", "advocacy", "at_risk", "churned")
# Stages of an active customer (docs block `churn_monthly`).
ACTIVE_STAGES = ("conversion", "retention", "loyalty", "advocacy", "at_risk")


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters: months first_month..last_month (first days of months, inclusive)
    and one channel, or None for all channels."""

    first_month: date
    last_month: date
    channel: str | None = None

    def params(self) -> dict:
        """Query parameters: the month range, the day after it (`end_exclusive`) and the channel."""
        following = (self.last_month.replace(day=28) + timedelta(days=4)).replace(day=1)
        return {"first_month": self.first_month, "last_month": self.last_month,
                "end_exclusive": following, "channel": self.channel}


def target() -> str:
    """Where the marts are: duckdb or postgres (LIFECYCLE_TARGET, as for builds)."""
    return os.environ.get("LIFECYCLE_TARGET", "duckdb")


def duckdb_path() -> Path:
    """The published DuckDB file, as the command line resolves it."""
    from customer_lifecycle.__main__ import _duckdb_path

    return _duckdb_path()


def postgres_marts_schema() -> str:
    """The published marts schema on PostgreSQL: <LIFECYCLE_PG_SCHEMA>_marts."""
    return os.environ.get("LIFECYCLE_PG_SCHEMA", "lifecycle") + "_marts"


def describe_source() -> str:
    """Where the dashboard reads from, for people."""
    if target() == "postgres":
        host = os.environ.get("LIFECYCLE_PG_HOST", "127.0.0.1")
        port = os.environ.get("LIFECYCLE_PG_PORT", "5432")
        database = os.environ.get("LIFECYCLE_PG_DATABASE", "lifecycle")
        return f"PostgreSQL {host}:{port}/{database}, schema {postgres_marts_schema()}"
    return f"DuckDB {duckdb_path()}, schema {DUCKDB_MARTS_SCHEMA}"


class WarehouseMissing(RuntimeError):
    """There is no warehouse to read (no DuckDB file yet)."""


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _run(template: str, params: dict | None = None, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """Run one query template (see the module docstring) and return its rows.

    columns: the column identifiers of the template's non-mart fields, e.g. {"by": "channel"}.
    """
    columns = columns or {}
    params = params or {}
    names = {}
    for field in _fields(template):
        if field in MARTS:
            names[field] = (field,)
        elif field in columns:
            names[field] = (columns[field],)
        else:
            raise KeyError(f"{field!r} is neither a mart the dashboard reads nor a given column")
    if target() == "postgres":
        return _run_postgres(template, params, names)
    return _run_duckdb(template, params, names)


def _run_postgres(template: str, params: dict, names: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    from psycopg2 import sql

    from customer_lifecycle.__main__ import _pg_connect

    schema = postgres_marts_schema()
    identifiers = {field: sql.Identifier(schema, *parts) if field in MARTS else sql.Identifier(*parts)
                   for field, parts in names.items()}
    query = sql.SQL(template).format(**identifiers)
    conn = _pg_connect()
    try:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            cur.execute(query, params)
            frame = pd.DataFrame.from_records(cur.fetchall(), columns=[d.name for d in cur.description])
    finally:
        conn.close()
    return _decimals_to_float(frame)


def _quote_duckdb(*parts: str) -> str:
    """A DuckDB identifier: each part in double quotes, inner double quotes doubled (SQL standard)."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def _run_duckdb(template: str, params: dict, names: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    import duckdb

    path = duckdb_path()
    if not path.exists():
        raise WarehouseMissing(f"There is no warehouse file at {path}. Build it first (make demo, or "
                               "python -m customer_lifecycle build), or set LIFECYCLE_DUCKDB_PATH.")
    identifiers = {field: _quote_duckdb(DUCKDB_MARTS_SCHEMA, *parts) if field in MARTS else _quote_duckdb(*parts)
                   for field, parts in names.items()}
    # %(name)s -> $name: DuckDB's named parameters. Only the parameters the query uses are passed.
    query = re.sub(r"%\((\w+)\)s", r"$\1", template.format(**identifiers))
    used = {name: params[name] for name in set(re.findall(r"\$(\w+)", query))}
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = con.execute(query, used).df()
    finally:
        con.close()
    return _decimals_to_float(frame)


def _decimals_to_float(frame: pd.DataFrame) -> pd.DataFrame:
    """Decimal columns (money, probabilities) as floats, the same from both drivers."""
    for column in frame.columns:
        if frame[column].dtype == object and frame[column].map(lambda v: isinstance(v, Decimal)).any():
            frame[column] = frame[column].astype(float)
    return frame


# --- The build and the filters' choices ---------------------------------------------------------

def build_record() -> dict:
    """The published build: build_id, finished_at, as_of_date, data_first_day, data_last_day."""
    frame = _run("select build_id, finished_at, as_of_date, data_first_day, data_last_day "
                 "from {fct_build_record} limit 1")
    return frame.iloc[0].to_dict() if len(frame) else {}


def months() -> list[date]:
    """Every month the build describes (first days), oldest first (fct_kpis_monthly has one row a month)."""
    frame = _run("select kpi_month from {fct_kpis_monthly} order by kpi_month")
    return [pd.Timestamp(m).date() for m in frame["kpi_month"]]


def channels() -> list[str]:
    """The channels to filter by: the entry sessions' channels and the customers' acquisition channels."""
    frame = _run("select channel from {fct_funnel_steps} union "
                 "select acquisition_channel from {dim_customers} where acquisition_channel is not null "
                 "order by 1")
    return list(frame.iloc[:, 0])


# --- 1. Lifecycle stages ------------------------------------------------------------------------

def stage_monthly(f: Filters) -> pd.DataFrame:
    """Persons in each stage at each month end, with the month's inflow and outflow, in the range."""
    return _run("select stage_month, stage, persons_at_month_end, inflow, outflow "
                "from {fct_lifecycle_stage_monthly} "
                "where stage_month between %(first_month)s and %(last_month)s "
                "order by stage_month, stage", f.params())


def customers_by_current_stage(f: Filters) -> pd.DataFrame:
    """Customers by their stage on as_of_date and acquisition channel (dim_customers; the channel
    filter applies, the date range does not: the stage is today's)."""
    return _run("select current_stage as stage, acquisition_channel, count(*) as customers "
                "from {dim_customers} "
                "where current_stage is not null "
                "and (%(channel)s is null or acquisition_channel = %(channel)s) "
                "group by current_stage, acquisition_channel order by current_stage, acquisition_channel",
                f.params())


def current_spells() -> pd.DataFrame:
    """Persons in each stage now (the open spell of fct_lifecycle_stage_history), anonymous or not."""
    return _run("select stage, is_anonymous, count(*) as persons from {fct_lifecycle_stage_history} "
                "where is_current group by stage, is_anonymous order by stage, is_anonymous")


# --- 2. Stage flows -----------------------------------------------------------------------------

def transitions(f: Filters) -> pd.DataFrame:
    """Moves between stages in the range, by from_stage and to_stage (is_reactivation: a win-back)."""
    return _run("select from_stage, to_stage, is_reactivation, sum(transitions) as transitions, "
                "sum(persons) as persons from {fct_lifecycle_transitions} "
                "where transition_month between %(first_month)s and %(last_month)s "
                "group by from_stage, to_stage, is_reactivation order by from_stage, to_stage", f.params())


def transitions_by_month(f: Filters) -> pd.DataFrame:
    """Moves per month in the range, win-backs apart."""
    return _run("select transition_month, is_reactivation, sum(transitions) as transitions "
                "from {fct_lifecycle_transitions} "
                "where transition_month between %(first_month)s and %(last_month)s "
                "group by transition_month, is_reactivation order by transition_month", f.params())


# --- 3. Funnels ---------------------------------------------------------------------------------

FUNNEL_BREAKDOWNS = ("channel", "device")


def funnel_names() -> list[str]:
    """The declared funnels (var funnels) that have entries."""
    return list(_run("select distinct funnel_name from {fct_funnel_steps} order by funnel_name")["funnel_name"])


def funnel_steps(f: Filters, funnel: str, by: str | None = None) -> pd.DataFrame:
    """Entries reaching each step of a funnel, entered in the range through the channel, summed over
    days (and over channels and devices unless `by` is one of FUNNEL_BREAKDOWNS). Rates are
    recomputed from the summed counts (shares 0..1, null without entries)."""
    if by is not None and by not in FUNNEL_BREAKDOWNS:
        raise ValueError(f"funnel steps break down by {' or '.join(FUNNEL_BREAKDOWNS)}, not {by!r}")
    group = "{by}, " if by else ""
    return _run(f"select {group}step_number, step_name, sum(entries) as entries, "
                "sum(entries_at_previous_step) as entries_at_previous_step, "
                "sum(entries_reaching_step) as entries_reaching_step, sum(drop_off) as drop_off, "
                "cast(sum(entries_reaching_step) as double precision) / nullif(sum(entries_at_previous_step), 0) "
                "as step_conversion_rate, "
                "cast(sum(entries_reaching_step) as double precision) / nullif(sum(entries), 0) "
                "as overall_conversion_rate "
                "from {fct_funnel_steps} "
                "where funnel_name = %(funnel)s "
                "and entry_date >= %(first_month)s and entry_date < %(end_exclusive)s "
                "and (%(channel)s is null or channel = %(channel)s) "
                f"group by {group}step_number, step_name order by {group}step_number",
                {**f.params(), "funnel": funnel}, columns={"by": by} if by else None)


def funnel_entries(f: Filters, funnel: str) -> dict:
    """Entries of a funnel in the range through the channel, and how many converted (fct_funnel_sessions)."""
    frame = _run("select count(*) as entries, "
                 "coalesce(sum(case when is_converted then 1 else 0 end), 0) as converted "
                 "from {fct_funnel_sessions} "
                 "where funnel_name = %(funnel)s "
                 "and entry_date >= %(first_month)s and entry_date < %(end_exclusive)s "
                 "and (%(channel)s is null or channel = %(channel)s)",
                 {**f.params(), "funnel": funnel})
    return {k: int(v) for k, v in frame.iloc[0].to_dict().items()}


# --- 4. Retention and churn ---------------------------------------------------------------------

def retention_cohorts(f: Filters) -> pd.DataFrame:
    """Retention cells of the cohorts whose month is in the range: all customers, or those acquired
    through the channel (fct_retention_cohorts_by_channel)."""
    columns = ("cohort_month, months_since_first_order, activity_month, cohort_size, active_customers, "
               "retention_rate, cumulative_net_revenue_per_customer")
    if f.channel is None:
        return _run(f"select {columns} from {{fct_retention_cohorts}} "
                    "where cohort_month between %(first_month)s and %(last_month)s "
                    "order by cohort_month, months_since_first_order", f.params())
    return _run(f"select {columns} from {{fct_retention_cohorts_by_channel}} "
                "where acquisition_channel = %(channel)s "
                "and cohort_month between %(first_month)s and %(last_month)s "
                "order by cohort_month, months_since_first_order", f.params())


def churn_monthly(f: Filters) -> pd.DataFrame:
    """Active customers per month and how they moved, in the range (fct_churn_monthly)."""
    return _run("select churn_month, active_at_start, new_customers, retained_customers, churned_customers, "
                "reactivated_customers, active_at_end, churn_rate, retention_rate "
                "from {fct_churn_monthly} where churn_month between %(first_month)s and %(last_month)s "
                "order by churn_month", f.params())


# --- 5. Customer value --------------------------------------------------------------------------

CLV_MEASURES = ("predicted_clv", "p_alive", "historical_clv")


def clv_histogram(f: Filters, measure: str, bins: int = 30) -> pd.DataFrame:
    """The distribution of one fct_customer_clv measure (CLV_MEASURES) over the customers whose first
    purchase fell in the range: `bins` equal-width bins from the lowest to the highest value
    (bin_start, bin_end, customers). Binned in the warehouse, whatever the number of customers."""
    if measure not in CLV_MEASURES:
        raise ValueError(f"not a customer-value measure: {measure!r}")
    return _run("with v as (select cast({measure} as double precision) as x from {fct_customer_clv} "
                "  where {measure} is not null "
                "  and first_purchase_date >= %(first_month)s and first_purchase_date < %(end_exclusive)s), "
                "r as (select min(x) as lo, (max(x) - min(x)) / %(bins)s as width from v), "
                "b as (select case when r.width > 0 then least(floor((v.x - r.lo) / r.width), %(bins)s - 1) "
                "  else 0 end as bin, r.lo, r.width from v cross join r) "
                "select bin, min(lo) + bin * min(width) as bin_start, min(lo) + (bin + 1) * min(width) as bin_end, "
                "count(*) as customers from b group by bin order by bin",
                {**f.params(), "bins": bins}, columns={"measure": measure})


def clv_totals(f: Filters) -> dict:
    """Customers whose first purchase fell in the range, their predicted CLV (sum), mean P(alive) and
    the CLV horizon in days."""
    frame = _run("select count(*) as customers, sum(predicted_clv) as predicted_clv, avg(p_alive) as mean_p_alive, "
                 "max(horizon_days) as horizon_days "
                 "from {fct_customer_clv} "
                 "where first_purchase_date >= %(first_month)s and first_purchase_date < %(end_exclusive)s",
                 f.params())
    return frame.iloc[0].to_dict()


def rfm_segments() -> pd.DataFrame:
    """The RFM segments as of as_of_date, in display order (fct_rfm_segments)."""
    return _run("select segment, segment_order, customers, customer_share, net_revenue, revenue_share, "
                "recency_days_min, recency_days_max, frequency_min, frequency_max "
                "from {fct_rfm_segments} order by segment_order")


# --- 6. KPIs ------------------------------------------------------------------------------------

def kpis_monthly(f: Filters) -> pd.DataFrame:
    """Every column of fct_kpis_monthly for the months in the range, oldest first."""
    return _run("select * from {fct_kpis_monthly} where kpi_month between %(first_month)s and %(last_month)s "
                "order by kpi_month", f.params())

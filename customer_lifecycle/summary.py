"""The short report printed after a build: where the results are, what was built, what was held back."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

import duckdb

from .contract import PROJECT_DIR


def print_summary(db_path: Path, *, tables: bool = False) -> None:
    """The build, its headline KPIs and current stages, the quarantine, and how to open the file;
    every table with its row count when `tables`."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        found = con.sql(
            """
            select table_schema, table_name, table_type
            from information_schema.tables
            where table_schema not in ('information_schema', 'pg_catalog')
              and table_name not like 'base\\_%' escape '\\'
            order by table_schema, table_name
            """
        ).fetchall()
        print()
        record = _relation(con, "fct_build_record")
        if record:
            build_id, as_of, first_day, last_day, marts = con.sql(
                f"select min(build_id), min(as_of_date), min(data_first_day), min(data_last_day), count(*) from {record}"
            ).fetchall()[0]
            print(f"Build {build_id}: {marts} marts as of {as_of} (data from {first_day} to {last_day})")
        print(f"Results are in the DuckDB file {db_path}")
        python = shlex.quote(sys.executable)
        with_file = f"LIFECYCLE_DUCKDB_PATH={shlex.quote(str(db_path))} "
        opener = f"import duckdb; duckdb.connect({str(db_path)!r}, read_only=True).sql('show all tables').show()"
        print(f"  open it with: {python} -c {shlex.quote(opener)}")
        if tables:
            print()
            print(f"{'schema.table':60} {'rows':>10}")
            for schema, name, _ in found:
                rows = con.sql(f'select count(*) from "{schema}"."{name}"').fetchall()[0][0]
                print(f"{schema + '.' + name:60} {rows:>10}")
        else:
            print(f"  every table with its row count: {with_file}{python} -m customer_lifecycle summary --tables")
        print(f"  the dashboard: {with_file}{python} -m customer_lifecycle dashboard")
        print(f"  the docs site: {with_file}make -C {shlex.quote(str(PROJECT_DIR))} docs")
        quarantine = [t for t in found if t[1] == "stg_shop__quarantined_rows"]
        if quarantine:
            schema = quarantine[0][0]
            held = con.sql(
                f"""
                select source_table, quarantine_reason, count(*) as n
                from "{schema}".stg_shop__quarantined_rows
                group by 1, 2 order by 1, 2
                """
            ).fetchall()
            print()
            total = sum(n for *_, n in held)
            print(f"Quarantined rows: {total}" + (" (see " + schema + ".stg_shop__quarantined_rows)" if total else ""))
            for table, reason, n in held:
                print(f"  {table:20} {reason:24} {n:>8}")
        for extra in _extra_sections(con):
            print()
            print(extra)
    finally:
        con.close()


def _relation(con, name: str) -> str | None:
    found = con.sql(
        f"select table_schema from information_schema.tables where table_name = '{name}'"
    ).fetchall()
    return f'"{found[0][0]}".{name}' if found else None


def _shown(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _extra_sections(con) -> list[str]:
    """Sections that appear once the marts that feed them exist."""
    sections = []
    kpis = _relation(con, "fct_kpis_monthly")
    if kpis:
        names = ["net_revenue", "valid_orders", "average_order_value", "new_customers", "repeat_purchase_rate",
                 "churn_rate", "retention_rate", "session_conversion_rate"]
        row = con.sql(f"select kpi_month, {', '.join(names)} from {kpis} order by kpi_month desc limit 1").fetchall()
        if row:
            month, *values = row[0]
            lines = [f"  {name:24} {_shown(value):>14}" for name, value in zip(names, values)]
            sections.append(f"Headline KPIs of {month:%Y-%m} (fct_kpis_monthly; rates as shares):\n" + "\n".join(lines))
    history = _relation(con, "fct_lifecycle_stage_history")
    if history:
        rows = con.sql(
            f"""
            select
                stage,
                count(*) as persons,
                sum(case when is_anonymous then 0 else 1 end) as customers
            from {history}
            where is_current
            group by stage
            order by persons desc
            """
        ).fetchall()
        lines = [f"  {'stage':16} {'persons':>8} {'customers':>10}"]
        lines += [f"  {stage:16} {persons:>8} {customers:>10}" for stage, persons, customers in rows]
        record = _relation(con, "fct_build_record")  # published with the marts, as of the same day
        day = con.sql(f"select max(as_of_date) from {record}").fetchall()[0][0] if record else "?"
        sections.append(f"Current lifecycle stage as of {day} (persons include anonymous visitors):\n"
                        + "\n".join(lines))
    return sections

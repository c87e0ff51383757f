"""The short report printed after a build: where the results are, what was built, what was held back."""
from __future__ import annotations

import sys
from pathlib import Path

import duckdb


def print_summary(db_path: Path) -> None:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = con.sql(
            """
            select table_schema, table_name, table_type
            from information_schema.tables
            where table_schema not in ('information_schema', 'pg_catalog')
              and table_name not like 'base\\_%' escape '\\'
            order by table_schema, table_name
            """
        ).fetchall()
        print()
        print(f"Results are in the DuckDB file {db_path}")
        print(f"  open it with: {sys.executable} -c \"import duckdb; "
              f"duckdb.connect('{db_path}', read_only=True).sql('show all tables').show()\"")
        print()
        print(f"{'schema.table':60} {'rows':>10}")
        for schema, name, _ in tables:
            rows = con.sql(f'select count(*) from "{schema}"."{name}"').fetchall()[0][0]
            print(f"{schema + '.' + name:60} {rows:>10}")
        quarantine = [t for t in tables if t[1] == "stg_shop__quarantined_rows"]
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


def _extra_sections(con) -> list[str]:
    """Sections that appear once the marts that feed them exist."""
    sections = []
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
        as_of = _relation(con, "int_as_of_date")
        day = con.sql(f"select as_of_date from {as_of}").fetchall()[0][0] if as_of else "?"
        sections.append(f"Current lifecycle stage as of {day} (persons include anonymous visitors):\n"
                        + "\n".join(lines))
    return sections

"""The short report printed after a build: where the results are, what was built, what was held back."""
from __future__ import annotations

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
        print(f"  open it with: python -c \"import duckdb; duckdb.connect('{db_path}').sql('show all tables').show()\"")
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


def _extra_sections(con) -> list[str]:
    """Sections that appear once the marts that feed them exist."""
    sections = []
    found = con.sql(
        "select table_schema from information_schema.tables where table_name = 'dim_customers'"
    ).fetchall()
    if found:
        schema = found[0][0]
        rows = con.sql(
            f'select current_stage, count(*) from "{schema}".dim_customers group by 1 order by 2 desc'
        ).fetchall()
        sections.append("Customers by current lifecycle stage:\n" + "\n".join(f"  {s:16} {n:>8}" for s, n in rows))
    return sections

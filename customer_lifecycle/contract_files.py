"""The files derived from the raw data contract (the dbt source `shop`, module contract).

`python -m customer_lifecycle contract` writes them; `--check` fails when one is out of date (a
pytest runs it). A new raw column is added to models/staging/shop/_shop__sources.yml only, then
this command brings the base models' properties and the demo seeds' column types along.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from . import contract

BASE_MODELS_FILE = contract.PROJECT_DIR / "models" / "staging" / "shop" / "base" / "_shop_base__models.yml"
DEMO_SEEDS_FILE = contract.PROJECT_DIR / "seeds" / "demo" / "_demo__seeds.yml"

HEADER = ("# Generated from the raw data contract (models/staging/shop/_shop__sources.yml) by\n"
          "# `python -m customer_lifecycle contract`: edit the contract, then run it again.\n")
QUARANTINED = {"config": {"where": "quarantine_reason is not null"}}
TEXT_TYPE = "{{ 'string' if target.type == 'spark' else 'varchar' }}"
# What became of a raw row (macro checked_raw_table, docs block `raw_loads`).
ROW_STATUSES = ("staged", "superseded", "deleted", "quarantined")


def base_model(table: dict) -> dict:
    """The properties of base_shop__<table>: the contract's columns, then those checked_raw_table adds."""
    name, spec = table["name"], contract.raw_contract()[table["name"]]
    columns = []
    for column in table["columns"]:
        entry = {"name": column["name"], "description": column["description"]}
        if column["name"] in spec["pii"]:
            entry["tags"] = ["pii"]
        columns.append(entry)
    currency = spec["currency"] or {}
    if "column" in currency:
        columns.append({"name": "exchange_rate", "description": '{{ doc("exchange_rate") }}'})
    elif "of" in currency:
        parent = currency["of"]
        columns.append({"name": "exchange_rate",
                        "description": f"The exchange rate of the referenced {parent} row, carried from stg_shop__{parent}."})
    columns += [
        {"name": "row_hash", "description": '{{ doc("row_hash") }}'},
        {"name": "load_id", "description": '{{ doc("load_id") }}'},
        {"name": "load_version", "description": '{{ doc("load_version") }}'},
        {"name": "raw_row_id", "description": '{{ doc("raw_row_id") }}',
         "data_tests": ["unique", {"not_null": QUARANTINED}]},
        {"name": "row_key", "description": '{{ doc("row_key") }}'},
        {"name": "raw_values", "description": '{{ doc("raw_values") }}',
         "data_tests": [{"not_null": QUARANTINED}], "tags": ["pii"]},
        {"name": "row_status", "description": '{{ doc("row_status") }}',
         "data_tests": ["not_null", {"accepted_values": {"arguments": {"values": list(ROW_STATUSES)}}}]},
        {"name": "quarantine_reason", "description": '{{ doc("quarantine_reason") }}',
         "data_tests": [{"accepted_values": {"arguments": {"values": list(contract.REASON_CODES)}}}]},
        {"name": "staging_settings", "description": '{{ doc("staging_settings") }}'},
        {"name": "decided_by_invocation_id", "description": '{{ doc("decided_by_invocation_id") }}'},
    ]
    return {
        "name": f"base_shop__{name}",
        "description": (f"Every raw {name} row, typed and checked: one row per raw row (grain: raw_row_id for "
                        "quarantined rows, the key for staged ones), staged when row_status is 'staged'. "
                        'See {{ doc("shop_staging") }}'),
        "columns": columns,
        # A quarantine that swallows the table warns or fails (quarantine_warn_percent, _error_percent).
        "data_tests": [{"quarantine_share": {"arguments": {"source_table": name}}}],
    }


def demo_seed(table: dict) -> dict:
    name = table["name"]
    return {
        "name": f"raw_{name}",
        "description": (f"Demo data for the raw `{name}` table of the data contract, made by the generator "
                        "(python -m customer_lifecycle.generator --preset demo --seed 42). Every column is loaded "
                        "as text, as raw data arrives; staging parses it."),
        # Named like the table in the seeds' schema, which the source `shop` points at in seeds mode.
        "config": {"alias": name, "column_types": {column["name"]: TEXT_TYPE for column in table["columns"]}},
    }


class _Dumper(yaml.SafeDumper):
    """Writes a value shared by several entries in full each time (no YAML anchors)."""

    def ignore_aliases(self, data):
        return True


def render(kind: str, items: list[dict]) -> str:
    body = yaml.dump({"version": 2, kind: items}, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)
    return HEADER + body


def expected_files() -> dict[Path, str]:
    tables = contract.source_tables()
    return {
        BASE_MODELS_FILE: render("models", [base_model(t) for t in tables]),
        DEMO_SEEDS_FILE: render("seeds", [demo_seed(t) for t in tables]),
    }


def stale_files() -> list[Path]:
    return [path for path, text in expected_files().items()
            if not path.exists() or path.read_text(encoding="utf-8") != text]


def write() -> list[Path]:
    """Write every derived file that differs; returns those written."""
    written = []
    for path, text in expected_files().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written

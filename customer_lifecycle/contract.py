"""The raw data contract, read from the one place it is defined: dbt_project.yml (vars.raw_contract)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Reason codes a quarantined row can carry, in the order the checks run (first failing wins).
REASON_CODES = (
    "missing_key",
    "missing_value",
    "unparseable_timestamp",
    "unparseable_number",
    "future_timestamp",
    "negative_amount",
    "out_of_range",
    "unknown_code",
    "duplicate_row",
    "conflicting_key",
    "orphan_reference",
    "missing_exchange_rate",
)


@lru_cache(maxsize=1)
def project_vars() -> dict:
    with open(PROJECT_DIR / "dbt_project.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["vars"]


def raw_contract() -> dict:
    """table name -> {required, key, columns: {name: type}, not_null, codes, references, ranges}."""
    return project_vars()["raw_contract"]


def columns(table: str) -> list[str]:
    return list(raw_contract()[table]["columns"])


def vocabulary(var_name: str) -> list[str]:
    return list(project_vars()[var_name])


TABLES = tuple(raw_contract())
REQUIRED_TABLES = tuple(t for t, spec in raw_contract().items() if spec.get("required"))

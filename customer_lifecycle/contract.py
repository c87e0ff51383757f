"""The raw data contract, read from the one place it is defined: the dbt source `shop`
(models/staging/shop/_shop__sources.yml), into the same shape as the dbt macro raw_contract().

`python -m customer_lifecycle contract` writes the files derived from it (module contract_files)."""
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


SOURCES_FILE = PROJECT_DIR / "models" / "staging" / "shop" / "_shop__sources.yml"


@lru_cache(maxsize=1)
def source_tables() -> tuple[dict, ...]:
    """The tables of the source `shop` as declared (name, description, meta, columns)."""
    with open(SOURCES_FILE, encoding="utf-8") as fh:
        sources = yaml.safe_load(fh)["sources"]
    (shop,) = [s for s in sources if s["name"] == "shop"]
    return tuple(shop["tables"])


@lru_cache(maxsize=1)
def raw_contract() -> dict:
    """table name -> {required, key, currency, columns: {name: type}, not_null, codes, upper,
    references, ranges, pii}: the same shape and order as the dbt macro raw_contract()."""
    contract = {}
    for table in source_tables():
        meta = table.get("meta") or {}
        spec = {"required": bool(meta.get("required", False)), "key": list(meta["key"]),
                "currency": meta.get("currency"), "columns": {}, "not_null": [], "codes": {}, "upper": [],
                "references": {}, "ranges": {}, "pii": []}
        for column in table["columns"]:
            name, checks = column["name"], column.get("meta") or {}
            spec["columns"][name] = column["data_type"]
            if checks.get("not_null"):
                spec["not_null"].append(name)
            if checks.get("code"):
                spec["codes"][name] = checks["code"]
            if checks.get("upper"):
                spec["upper"].append(name)
            if checks.get("references"):
                spec["references"][name] = checks["references"]
            if checks.get("range"):
                spec["ranges"][name] = list(checks["range"])
            if checks.get("pii"):
                spec["pii"].append(name)
        contract[table["name"]] = spec
    return contract


def columns(table: str) -> list[str]:
    return list(raw_contract()[table]["columns"])


def vocabulary(var_name: str) -> list[str]:
    return list(project_vars()[var_name])


TABLES = tuple(raw_contract())
REQUIRED_TABLES = tuple(t for t, spec in raw_contract().items() if spec.get("required"))

"""No direct identifiers in the marts (docs block `privacy`), on DuckDB and PostgreSQL.

The expected pseudonyms are computed here with Python's hashlib from the raw files, independently
of the SQL: SHA-256 of key + '|' + the trimmed, lower-case address, as hex.
"""
from __future__ import annotations

import csv
import hashlib
import re

from .harness import DEMO_SEEDS, FIXTURES, build, model_names

EMAIL = re.compile(r"[^@\s|=<>]+@[^@\s|=<>]+\.[A-Za-z]{2,}")


def pseudonym(address: str, key: str) -> str:
    return hashlib.sha256(f"{key}|{address.strip().lower()}".encode()).hexdigest()


def text_columns(b, model: str) -> list[str]:
    relation = b.relation(model).replace('"', "")
    schema, table = relation.split(".")[-2:]
    return [name for (name,) in b.query(
        "select column_name from information_schema.columns where table_schema = "
        f"'{schema}' and table_name = '{table}' and data_type in ('VARCHAR', 'text', 'character varying')")]


def test_no_mart_holds_an_email_address(engine, demo_builds):
    b = demo_builds(engine)
    scanned = 0
    for model in model_names(b, "marts"):
        for column in text_columns(b, model):
            values = [v for (v,) in b.query(f"select distinct {column} from {{{{ {model} }}}}") if v]
            assert not [v for v in values if EMAIL.search(str(v))], (model, column)
            scanned += 1
    assert scanned > 40  # every text column of the 19+ marts, not none
    # The scan finds addresses where there are some: staging keeps them.
    assert EMAIL.search(b.query("select max(email) from {{ stg_shop__customers }}")[0][0])


def test_email_hash_is_the_keyed_sha256_of_the_normalised_address(engine, demo_builds):
    with open(DEMO_SEEDS / "raw_customers.csv", newline="") as fh:
        raw = {r["customer_id"]: r["email"] for r in csv.DictReader(fh) if r["email"].strip()}
    got = dict(demo_builds(engine).query("select customer_id, email_hash from {{ dim_customers }}"))
    shared = set(got) & set(raw)
    assert len(shared) > 1000
    assert all(got[c] == pseudonym(raw[c], "") for c in shared)  # the demo builds without a key


def test_a_key_changes_every_pseudonym_and_the_quarantine_masks_addresses(tmp_path, tiny_builds):
    key = "a secret key, with a quote's worth of punctuation"
    b = build("duckdb", tmp_path / "w", data_dir=FIXTURES / "tiny", dbt_vars={"pii_hash_key": key},
              args=["build", "--select", "+dim_customers", "+stg_shop__quarantined_rows",  # all this test reads
                    "--exclude-resource-type", "test", "unit_test"])
    assert b.ok, b.output[-3000:]
    assert "pii_hash_key is not set" not in b.output and "pii_hash_key is not set" in tiny_builds("duckdb").output
    with open(FIXTURES / "tiny" / "customers.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    raw = {r["customer_id"]: r["email"] for r in rows}
    for customer, email_hash in b.query("select customer_id, email_hash from {{ dim_customers }}"):
        assert email_hash == pseudonym(raw[customer], key)
        assert email_hash != pseudonym(raw[customer], "")
    quarantined = b.query("select raw_values from {{ stg_shop__quarantined_rows }} where source_table = 'customers'")
    assert quarantined and not [v for (v,) in quarantined if EMAIL.search(v)]
    masked = [m for (v,) in quarantined for m in re.findall(r"email=<pii:([0-9a-f]{16})>", v)]
    assert masked and set(masked) <= {pseudonym(r["email"], key)[:16] for r in rows if r["email"].strip()}

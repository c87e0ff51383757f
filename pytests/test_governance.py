"""Governance (README "Governance"): groups and access, owners, primary keys, documented macros and
the dbt-score floor, read from a manifest that `dbt parse` writes into a temporary target path (no
build); and the descriptions that reach BI tools as table and column comments (the DuckDB demo)."""
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import jinja2
import jinja2.nodes
import pytest

from customer_lifecycle.dbt_runner import run_dbt

from .harness import PROJECT_DIR

# The project's dbt-score floor, also pyproject.toml [tool.dbt-score] fail_project_under for a plain lint.
MIN_PROJECT_SCORE = 9.5
DBT_SCORE = Path(sys.executable).parent / "dbt-score"


@pytest.fixture(scope="module")
def manifest_path(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("governance")
    result = run_dbt(["parse"], env={"LIFECYCLE_DATA_DIR": "", "LIFECYCLE_RAW_SCHEMA": ""}, work_dir=work_dir, check=False)
    assert result.returncode == 0, result.stdout[-5000:]
    return work_dir / "target" / "manifest.json"


@pytest.fixture(scope="module")
def manifest(manifest_path):
    return json.loads(manifest_path.read_text())


def project_models(manifest):
    return [n for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["package_name"] == "customer_lifecycle"]


def project_macros(manifest):
    return [m for m in manifest["macros"].values() if m["package_name"] == "customer_lifecycle"]


def signature(macro) -> list[str]:
    """The argument names of a macro (or generic test) as its Jinja definition declares them."""
    source = re.sub(r"{%(-?)\s*test\b", r"{%\1 macro", macro["macro_sql"], count=1)
    source = re.sub(r"{%(-?)\s*endtest\b", r"{%\1 endmacro", source)
    tree = jinja2.Environment(extensions=["jinja2.ext.do"]).parse(source)
    defined = next(tree.find_all(jinja2.nodes.Macro))
    return [arg.name for arg in defined.args]


def test_dbt_score_is_at_least_the_floor(manifest_path):
    result = subprocess.run(
        [str(DBT_SCORE), "lint", "--manifest", str(manifest_path), "--format", "json"],
        cwd=PROJECT_DIR, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    report = json.loads(result.stdout)
    score = report["project"]["score"]
    if score < MIN_PROJECT_SCORE:
        worst = sorted(report["evaluables"].items(), key=lambda item: item[1]["score"])[:15]
        lines = [f"{name}: {found['score']:.2f} "
                 + ", ".join(f"{rule.split('.')[-1]} ({outcome['message']})"
                             for rule, outcome in found["results"].items() if outcome["result"] != "OK")
                 for name, found in worst]
        pytest.fail(f"dbt-score {score:.2f} < {MIN_PROJECT_SCORE}; the worst:\n  " + "\n  ".join(lines))


def test_every_macro_is_documented_with_its_arguments(manifest):
    problems = []
    for macro in project_macros(manifest):
        if not macro["description"].strip():
            problems.append(f"{macro['name']} ({macro['original_file_path']}): no description")
        documented = [arg["name"] for arg in macro["arguments"]]
        if documented != signature(macro):
            problems.append(f"{macro['name']}: arguments {documented} in YAML, {signature(macro)} in the macro")
        undescribed = [arg["name"] for arg in macro["arguments"] if not (arg.get("description") or "").strip()]
        if undescribed:
            problems.append(f"{macro['name']}: arguments without a description: {undescribed}")
    assert not problems, "\n".join(problems)


def test_marts_are_public_and_intermediate_models_private(manifest):
    groups = {g["name"] for g in manifest["groups"].values()}
    expected = {"marts": "public", "intermediate": "private", "staging": "protected"}
    for model in project_models(manifest):
        layer = model["path"].split("/")[0]
        assert model["access"] == expected[layer], f"{model['name']} ({layer}) is {model['access']}"
        assert model["group"] in groups, f"{model['name']} has no group"
        assert model["meta"].get("owner"), f"{model['name']} has no owner (meta.owner)"
    marts_groups = {m["group"] for m in project_models(manifest) if m["path"].startswith("marts/")}
    intermediate_groups = {m["group"] for m in project_models(manifest) if m["path"].startswith("intermediate/")}
    assert intermediate_groups <= marts_groups, "the marts must share the group of the private models they read"


def test_declared_primary_keys_are_the_tested_grain(manifest):
    """A mart's primary key (column or model constraint) is the grain its uniqueness test checks."""
    for model in project_models(manifest):
        if not model["path"].startswith("marts/"):
            continue
        key = [name for name, column in model["columns"].items()
               if any(c["type"] == "primary_key" for c in column.get("constraints", []))]
        key += [c for constraint in model["constraints"] if constraint["type"] == "primary_key"
                for c in constraint["columns"]]
        if not key:
            continue
        grains = []
        for test in manifest["nodes"].values():
            if test["resource_type"] != "test" or test.get("attached_node") != model["unique_id"]:
                continue
            metadata = test.get("test_metadata") or {}
            if metadata.get("name") == "unique":
                grains.append([test["column_name"]])
            elif metadata.get("name") == "unique_combination_of_columns":
                grains.append(list(metadata["kwargs"]["combination_of_columns"]))
        assert sorted(key) in [sorted(g) for g in grains], f"{model['name']}: primary key {key}, grain tests {grains}"


def test_exposures_read_public_marts(manifest):
    exposures = [e for e in manifest["exposures"].values() if e["package_name"] == "customer_lifecycle"]
    assert {e["name"] for e in exposures} >= {"lifecycle_dashboard", "monthly_kpi_report"}
    for exposure in exposures:
        assert exposure["description"].strip() and exposure["owner"].get("name"), exposure["name"]
        for node in exposure["depends_on"]["nodes"]:
            assert manifest["nodes"][node]["access"] == "public", f"{exposure['name']} reads {node}"


def test_descriptions_reach_duckdb_as_comments(demo_builds):
    """persist_docs: a mart's description is its table comment, a column's its column comment, in
    the published file that BI tools open."""
    demo = demo_builds("duckdb")
    manifest = json.loads((demo.work_dir / "target" / "manifest.json").read_text())
    mart = next(n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == "fct_kpis_monthly")
    con = duckdb.connect(demo.duckdb_file, read_only=True)
    try:
        table_comment = con.sql("select comment from duckdb_tables() where schema_name = ? and table_name = ?",
                                params=[mart["schema"], mart["alias"]]).fetchall()
        column_comment = con.sql("select comment from duckdb_columns() where schema_name = ? and table_name = ? "
                                 "and column_name = 'kpi_month'", params=[mart["schema"], mart["alias"]]).fetchall()
    finally:
        con.close()
    assert table_comment, "fct_kpis_monthly was not built"
    assert table_comment == [(mart["description"],)]
    assert column_comment == [(mart["columns"]["kpi_month"]["description"],)]


def test_every_mart_description_has_an_example_query_that_runs(demo_builds):
    """Each mart's description ends with an example query (models/marts/_marts__examples.md), and each
    runs on the DuckDB demo (whose marts are in main_marts, as the examples say) and returns rows."""
    demo = demo_builds("duckdb")
    manifest = json.loads((demo.work_dir / "target" / "manifest.json").read_text())
    marts = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"
             and n["package_name"] == "customer_lifecycle" and n["original_file_path"].startswith("models/marts/")]
    assert {m["schema"] for m in marts} == {"main_marts"}
    con = duckdb.connect(demo.duckdb_file, read_only=True)
    try:
        for mart in marts:
            queries = re.findall(r"```sql\n(.*?)```", mart["description"], re.S)
            assert len(queries) == 1, f"{mart['name']}: {len(queries)} example queries in its description"
            assert re.search(rf"\bmain_marts\.{mart['name']}\b", queries[0]), f"{mart['name']}: its example does not read it"
            assert con.sql(queries[0]).fetchall(), f"{mart['name']}: its example returns no rows on the demo"
    finally:
        con.close()

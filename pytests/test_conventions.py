"""The project's own conventions (../shared/conventions.md), read from target/manifest.json of a
real build of the demo data: layer naming, documentation and grain tests on every model."""
import json
import re

import duckdb
import pytest

LAYER_PREFIXES = {
    "staging": ("stg_", "base_"),
    "intermediate": ("int_",),
    "marts": ("fct_", "dim_"),
}


@pytest.fixture(scope="module")
def demo(demo_builds):
    return demo_builds("duckdb")


@pytest.fixture(scope="module")
def manifest(demo):
    return json.loads((demo.work_dir / "target" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def models(manifest):
    found = [n for n in manifest["nodes"].values()
             if n["resource_type"] == "model" and n["package_name"] == "customer_lifecycle"]
    assert found, "no models in the manifest"
    return found


def attached_tests(manifest, model):
    return [n for n in manifest["nodes"].values()
            if n["resource_type"] == "test" and n.get("attached_node") == model["unique_id"]]


def test_models_are_named_after_their_layer(models):
    for model in models:
        layer = model["path"].split("/")[0]
        assert layer in LAYER_PREFIXES, f"{model['path']}: models live in staging/, intermediate/ or marts/"
        assert model["name"].startswith(LAYER_PREFIXES[layer]), f"{model['name']} in {layer}/"
        if layer == "staging":
            assert re.fullmatch(r"(stg|base)_[a-z0-9]+__[a-z0-9_]+", model["name"]), model["name"]


def test_every_model_and_column_is_described(models, demo):
    con = duckdb.connect(demo.duckdb_file, read_only=True)
    try:
        for model in models:
            assert model["description"].strip(), f"{model['name']} has no description"
            documented = {name: col["description"] for name, col in model["columns"].items()}
            built = [r[0] for r in con.sql(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                params=[model["schema"], model["alias"]]).fetchall()]
            assert built, f"{model['name']} was not built"
            undocumented = [c for c in built if not documented.get(c, "").strip()]
            assert not undocumented, f"{model['name']}: columns without a description: {undocumented}"
            stale = sorted(set(documented) - set(built))
            assert not stale, f"{model['name']}: documented columns that do not exist: {stale}"
    finally:
        con.close()


def test_every_model_has_its_grain_tested_unique_and_not_null(models, manifest):
    for model in models:
        kinds = {t["test_metadata"]["name"] for t in attached_tests(manifest, model) if t.get("test_metadata")}
        assert kinds & {"unique", "unique_combination_of_columns"}, f"{model['name']}: no uniqueness test on its grain"
        assert kinds & {"not_null", "not_null_columns"}, f"{model['name']}: no not-null test on its grain"


def test_raw_data_is_read_only_in_staging(models):
    for model in models:
        reads_raw = [d for d in model["depends_on"]["nodes"] if d.startswith(("seed.", "source."))
                     and not d.endswith("rfm_segment_map")]
        if reads_raw:
            assert model["path"].startswith("staging/"), f"{model['name']} reads raw data {reads_raw}"


def test_marts_enforce_their_contracts(models):
    marts = [m for m in models if m["path"].startswith("marts/")]
    if not marts:
        pytest.skip("no marts in the project yet")
    for model in marts:
        assert model["config"]["contract"]["enforced"], f"{model['name']} has no enforced contract"


def test_the_build_record_counts_and_publishing_copies_every_mart(models, manifest):
    """published_marts() (macros/publish/publishing.sql) is the one list of what a build publishes:
    it must name every mart but the build record itself, which depends on each of them."""
    macro = next(m for m in manifest["macros"].values() if m["name"] == "published_marts")
    listed = set(re.findall(r"'(\w+)'", macro["macro_sql"]))
    marts = {m["name"] for m in models if m["original_file_path"].startswith("models/marts/")}
    assert listed == marts - {"fct_build_record"}
    record = next(m for m in models if m["name"] == "fct_build_record")
    assert {n.split(".")[-1] for n in record["depends_on"]["nodes"]} >= listed

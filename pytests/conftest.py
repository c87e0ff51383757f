import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from customer_lifecycle.pgserver import PostgresUnavailable

from .harness import (DEMO_SEEDS, DIRTY_DATA_VARS, PROJECT_DIR, TINY, Build, SharedBuilds, build, postgres_required,
                      shared_postgres, start_dbt_forkserver, stop_shared_postgres)
from .readme import PG_EXPORT, export_env, run_readme


# The longest test files first (Spark's builds, the incremental runs, bad input, sqlfluff), so that on two
# workers (`make test`, one file per worker at a time) they run beside the others, not after them.
# `make test` passes --no-loadscope-reorder: xdist would otherwise put the files with most tests first.
LONGEST_FIRST = ("test_spark.py", "test_spark_demo.py", "test_incremental.py", "test_bad_input.py", "test_publishing.py",
                 "test_lint.py", "test_properties.py")


# `make test-quick` (LIFECYCLE_ENGINES=duckdb): DuckDB only, for the edit-and-run loop. Tests of
# another engine or of the browser are deselected, and so are the longest DuckDB files (the
# incremental story, kill -9 publishing, the property tests, the generator's large presets and
# its generated bad rows) and the style check (sqlfluff; `make lint` runs it alone): `make test`
# runs them, and under CI every engine is required.
QUICK = os.environ.get("LIFECYCLE_ENGINES") == "duckdb"
NOT_QUICK_FILES = ("test_spark.py", "test_spark_demo.py", "test_dashboard.py", "test_incremental.py",
                   "test_publishing.py", "test_properties.py", "test_generator_xlarge.py",
                   "test_quarantine_generated.py", "test_lint.py")


def uses_another_engine(item) -> bool:
    params = getattr(item, "callspec", None)
    return (item.path.name in NOT_QUICK_FILES or "pg_server" in item.fixturenames
            or (params is not None and params.params.get("engine") not in (None, "duckdb")))


def pytest_collection_modifyitems(config, items):
    if QUICK:
        if os.environ.get("CI") == "true":
            raise pytest.UsageError("LIFECYCLE_ENGINES=duckdb (make test-quick) leaves engines out: CI runs make test")
        other = [item for item in items if uses_another_engine(item)]
        config.hook.pytest_deselected(items=other)
        items[:] = [item for item in items if not uses_another_engine(item)]

    def rank(item):
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)
    items.sort(key=rank)


# The duration report: every test's setup, call and teardown seconds (a module's builds count in
# the setup of its first test), per test and per file, written to target/test-durations.json and
# the 15 longest of each printed at the end of the run. Under xdist the controller receives every
# worker's reports, so the report covers the whole run.
DURATION_REPORT = PROJECT_DIR / "target" / "test-durations.json"
_durations: dict[str, float] = {}
_started = time.monotonic()


def pytest_runtest_logreport(report):
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter, config):
    if hasattr(config, "workerinput") or not _durations:
        return
    files: dict[str, float] = {}
    for nodeid, seconds in _durations.items():
        files[nodeid.split("::")[0]] = files.get(nodeid.split("::")[0], 0.0) + seconds
    wall = time.monotonic() - _started
    DURATION_REPORT.parent.mkdir(exist_ok=True)
    DURATION_REPORT.write_text(json.dumps({
        "wall_seconds": round(wall, 1),
        "files": dict(sorted(((f, round(s, 1)) for f, s in files.items()), key=lambda item: -item[1])),
        "tests": dict(sorted(((t, round(s, 2)) for t, s in _durations.items()), key=lambda item: -item[1])),
    }, indent=1))
    write = terminalreporter.write_line
    terminalreporter.write_sep("=", f"duration report ({DURATION_REPORT.relative_to(PROJECT_DIR)})")
    write(f"wall {wall:.0f} s; test time {sum(files.values()):.0f} s in {len(files)} files, {len(_durations)} tests")
    write("the 15 longest files (setup + call + teardown of their tests):")
    for name, seconds in sorted(files.items(), key=lambda item: -item[1])[:15]:
        write(f"  {seconds:8.1f} s  {name}")
    write("the 15 longest tests:")
    for name, seconds in sorted(_durations.items(), key=lambda item: -item[1])[:15]:
        write(f"  {seconds:8.1f} s  {name}")


# The run's shared folder and PostgreSQL server (harness: SharedBuilds, shared_postgres): made by
# the controlling process (the only process without xdist), handed to every worker, and removed with
# the server when the run ends.
def pytest_configure(config):
    if hasattr(config, "workerinput"):
        config.lifecycle_shared_dir = Path(config.workerinput["lifecycle_shared_dir"])
    else:
        config.lifecycle_shared_dir = Path(tempfile.mkdtemp(prefix="lifecycle-tests-"))
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", None):
        start_dbt_forkserver()  # in each process that runs tests


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["lifecycle_shared_dir"] = str(node.config.lifecycle_shared_dir)


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput") and hasattr(config, "lifecycle_shared_dir"):
        try:
            stop_shared_postgres(config.lifecycle_shared_dir)
        finally:
            shutil.rmtree(config.lifecycle_shared_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(request):
    """The run's PostgreSQL server, shared by every worker (required under CI)."""
    if QUICK:
        pytest.skip("make test-quick runs DuckDB only (make test runs PostgreSQL too)")
    try:
        return shared_postgres(request.config.lifecycle_shared_dir)
    except PostgresUnavailable as exc:
        if postgres_required():
            pytest.fail(f"PostgreSQL is required here (CI / LIFECYCLE_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def shared_builds(request, tmp_path_factory):
    return SharedBuilds(request.config.lifecycle_shared_dir, tmp_path_factory.mktemp("shared"),
                        lambda: request.getfixturevalue("pg_server"))


@pytest.fixture(scope="session", params=["duckdb", "postgres"])
def engine(request):
    return request.param


@pytest.fixture(scope="session")
def tiny_builds(shared_builds, request):
    """The hand-written tiny fixture built on each engine, once per run (a copy for this worker)."""
    def get(engine_name):
        server = request.getfixturevalue("pg_server") if engine_name == "postgres" else None
        b = shared_builds.get(f"tiny-{engine_name}", lambda work_dir: build(
            engine_name, work_dir, data_dir=TINY, server=server, dbt_vars=DIRTY_DATA_VARS))
        assert b.ok, b.output[-5000:]
        return b

    return get


@pytest.fixture(scope="session")
def demo_builds(shared_builds, request):
    """The bundled demo built on each engine by the README's own commands, once per run (a copy
    for this worker): on DuckDB `make demo`; on PostgreSQL the README's block (load-files of the
    demo into schema raw, then build from it), so that fit-clv has run there too."""
    def get(engine_name):
        make = demo_on_duckdb if engine_name == "duckdb" else lambda work_dir: demo_on_postgres(
            work_dir, request.getfixturevalue("pg_server"))
        b = shared_builds.get(f"demo-{engine_name}", make)
        assert b.ok, b.output[-5000:]
        return b

    return get


def demo_on_duckdb(work_dir: Path) -> Build:
    return run_readme("make demo", engine="duckdb", work_dir=work_dir, unit_tests=True,
                      env={"LIFECYCLE_DUCKDB_PATH": str(work_dir / "lifecycle.duckdb")})


def demo_on_postgres(work_dir: Path, server) -> Build:
    env = export_env(PG_EXPORT, server.env(schema="b_demo_postgres"))
    files = work_dir.parent / "demo-files"  # the demo's seeds, named like the tables
    files.mkdir(exist_ok=True)
    for seed in DEMO_SEEDS.glob("raw_*.csv"):
        (files / seed.name.removeprefix("raw_")).unlink(missing_ok=True)
        (files / seed.name.removeprefix("raw_")).symlink_to(seed)
    steps = [(".venv/bin/python -m customer_lifecycle load-files seeds/demo --prefix raw_ --schema raw", {}),
             (".venv/bin/python -m customer_lifecycle load-files /path/to/files --schema raw",
              {"/path/to/files": files}),
             ("LIFECYCLE_RAW_SCHEMA=raw .venv/bin/python -m customer_lifecycle build@postgres", {})]
    output = ""
    for key, paths in steps:
        done = run_readme(key, engine="postgres", work_dir=work_dir, env=env, paths=paths, server=server,
                          unit_tests=True)
        output += done.output
        if not done.ok:
            break
    return Build("postgres", work_dir, done.env, output, done.returncode, server)

import json
import time

import pytest

from customer_lifecycle.pgserver import PostgresUnavailable, ThrowawayPostgres

from .harness import DEMO_SEEDS, DIRTY_DATA_VARS, PROJECT_DIR, TINY, build, postgres_required


# The longest test files first (Spark's builds, the incremental runs, sqlfluff), so that on two
# workers (`make test`, one file per worker at a time) they run beside the others, not after them.
# `make test` passes --no-loadscope-reorder: xdist would otherwise put the files with most tests first.
LONGEST_FIRST = ("test_spark.py", "test_incremental.py", "test_publishing.py", "test_lint.py",
                 "test_properties.py")


def pytest_collection_modifyitems(items):
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


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server for the whole test session (required under CI)."""
    try:
        server_cm = ThrowawayPostgres()
    except PostgresUnavailable as exc:
        if postgres_required():
            pytest.fail(f"PostgreSQL is required here (CI / LIFECYCLE_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(str(exc))
    with server_cm as server:
        yield server


@pytest.fixture(scope="session", params=["duckdb", "postgres"])
def engine(request):
    return request.param


@pytest.fixture(scope="session")
def tiny_builds(tmp_path_factory, request):
    """The hand-written tiny fixture built on each engine (lazily, once per session)."""
    cache = {}

    def get(engine_name):
        if engine_name not in cache:
            server = request.getfixturevalue("pg_server") if engine_name == "postgres" else None
            cache[engine_name] = build(engine_name, tmp_path_factory.mktemp(f"tiny-{engine_name}"),
                                       data_dir=TINY, server=server, dbt_vars=DIRTY_DATA_VARS)
            assert cache[engine_name].ok, cache[engine_name].output[-5000:]
        return cache[engine_name]

    return get


@pytest.fixture(scope="session")
def demo_builds(tmp_path_factory, request):
    """The bundled demo data built on each engine (lazily, once per session). DuckDB reads the
    seeds (dbt seed); PostgreSQL gets the same files copied into a raw schema (dbt's seed loader
    takes minutes on PostgreSQL for the demo's events), which also exercises the warehouse path."""
    cache = {}

    def get(engine_name):
        if engine_name not in cache:
            work_dir = tmp_path_factory.mktemp(f"demo-{engine_name}")
            if engine_name == "postgres":
                cache[engine_name] = build(engine_name, work_dir, server=request.getfixturevalue("pg_server"),
                                           data_dir=DEMO_SEEDS, file_prefix="raw_")
            else:
                cache[engine_name] = build(engine_name, work_dir)
            assert cache[engine_name].ok, cache[engine_name].output[-5000:]
        return cache[engine_name]

    return get

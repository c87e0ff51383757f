"""Atomic publishing (docs block `publishing`): a build that fails, whether by an error, a failing
test or kill -9 at several points, leaves the published marts byte for byte as the last successful
build published them; a reader holding the published DuckDB file keeps reading its build while a
new one is published; fct_build_record agrees with the marts beside it."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from customer_lifecycle.publish import working_path

from .harness import (BUILD_RECORD_DATA, DIRTY_DATA_VARS, FIXTURES, PINNED_MAX_VALID_AT, PROJECT_DIR,
                      WITHOUT_UNIT_TESTS, Build, assert_same_tables, build, model_names)
from .test_loads import two_loads

# Build A publishes the tiny fixture as of its last day (2025-03-07, README of the fixture);
# build B is the same data as of an earlier day, so every stage-dependent mart would change.
VARS_A = {"max_valid_at": PINNED_MAX_VALID_AT, **DIRTY_DATA_VARS}
VARS_B = {**VARS_A, "as_of_date": "2025-02-15"}
# A singular test that always fails, on a mart built late (dim_customers: after the CLV fit).
FAILING_TEST = "select customer_id from {{ ref('dim_customers') }}\n"
# Every model file under models/marts is a published mart; fct_build_record is one of them.
PUBLISHED = sorted(p.stem for p in (PROJECT_DIR / "models" / "marts").rglob("*") if p.suffix in (".sql", ".py"))


def cli(args: list[str], env: dict[str, str], work_dir: Path, project: Path = PROJECT_DIR,
        output=subprocess.PIPE) -> subprocess.Popen:
    """`python -m customer_lifecycle <args>` of `project`, in its own process group, output piped
    (read it as it comes, or dbt blocks on a full pipe) or into the file object `output`."""
    # LIFECYCLE_DBT empty: dbt itself, not the suite's dbt fork server, is the process under the command
    # that a kill here must reach.
    full_env = {**os.environ, **env, "DO_NOT_TRACK": "1", "PYTHONPATH": str(project), "LIFECYCLE_DBT": "",
                "DBT_TARGET_PATH": str(work_dir / "target"), "DBT_LOG_PATH": str(work_dir / "logs")}
    return subprocess.Popen([sys.executable, "-m", "customer_lifecycle", *args], cwd=project, env=full_env, text=True,
                            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def run_to_end(process: subprocess.Popen) -> tuple[int, str]:
    output = process.communicate()[0]
    return process.returncode, output


def kill_when(process: subprocess.Popen, pattern: str) -> str:
    """kill -9 the whole build (the command and dbt under it) as soon as a line matches."""
    seen = []
    for line in process.stdout:
        seen.append(line)
        if re.search(pattern, line):
            os.killpg(process.pid, signal.SIGKILL)
            break
    else:
        raise AssertionError(f"the build ended before {pattern!r}:\n" + "".join(seen[-40:]))
    process.wait()
    assert process.returncode == -signal.SIGKILL
    return "".join(seen)


def project_with_failing_test(tmp_path: Path) -> Path:
    """A copy of the project with one more singular test, which fails."""
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, copy, ignore=shutil.ignore_patterns(
        ".venv", ".git", "target", "logs", "spark-warehouse", "metastore_db", "__pycache__", "*.duckdb*"))
    (copy / "tests" / "assert_always_fails.sql").write_text(FAILING_TEST)
    return copy


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def duckdb_record(path: Path) -> tuple[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql("select distinct build_id, cast(as_of_date as varchar) from main_marts.fct_build_record").fetchall()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("publish-duckdb")
    env = {"LIFECYCLE_TARGET": "duckdb", "LIFECYCLE_DUCKDB_PATH": str(work_dir / "published.duckdb"),
           "LIFECYCLE_DATA_DIR": str(FIXTURES / "tiny"), "LIFECYCLE_RAW_SCHEMA": "", **WITHOUT_UNIT_TESTS}
    code, output = run_to_end(cli(["build", "--vars", json.dumps(VARS_A)], env, work_dir))
    assert code == 0, output[-3000:]
    return work_dir, env, Path(env["LIFECYCLE_DUCKDB_PATH"])


def test_duckdb_build_record_agrees_with_the_marts(duck):
    _, _, published = duck
    con = duckdb.connect(str(published), read_only=True)
    try:
        record = con.sql("select mart_name, row_count, as_of_date, data_first_day, data_last_day, dbt_version "
                         "from main_marts.fct_build_record").fetchall()
        assert len(record) == len(PUBLISHED) - 1
        for mart, rows, as_of, first_day, last_day, version in record:
            assert con.execute(f"select count(*) from main_marts.{mart}").fetchone()[0] == rows
            # The tiny fixture's README: data from the first sign-up to the last order, 2025-03-07.
            assert str(as_of) == "2025-03-07" and str(last_day) == "2025-03-07" and first_day < last_day
            assert re.fullmatch(r"1\.11\.\d+\S*", version)
    finally:
        con.close()


@pytest.mark.parametrize("point", [
    r"OK created sql (table|view) model main_staging\.",     # early: the copy is being built
    r"OK created sql table model main_marts\.fct_build_record",  # late: every mart built, not yet published
])
def test_duckdb_kill_9_leaves_the_published_file_as_it_was(duck, point):
    work_dir, env, published = duck
    before, record = sha256(published), duckdb_record(published)
    kill_when(cli(["build", "--vars", json.dumps(VARS_B)], env, work_dir), point)
    assert sha256(published) == before
    assert duckdb_record(published) == record


def test_duckdb_dbt_killed_as_by_the_oom_killer_is_reported_and_publishes_nothing(duck):
    """The kernel's OOM killer picks the biggest process, dbt, and leaves the command alive: it says
    the build was killed, with the signal, and publishes nothing."""
    work_dir, env, published = duck
    before = sha256(published)
    process = cli(["build", "--vars", json.dumps(VARS_B)], env, work_dir)
    seen = []
    for line in process.stdout:
        seen.append(line)
        if re.search(r"OK created sql table model main_marts\.", line):
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
            assert len(children) == 1, children  # dbt
            os.kill(int(children[0]), signal.SIGKILL)
            break
    output = "".join(seen) + process.communicate()[0]
    assert process.returncode == 1
    assert "The build was killed (SIGKILL) before it finished." in output, output[-3000:]
    assert f"Nothing was published: {published} is unchanged." in output
    assert sha256(published) == before


def test_duckdb_failing_test_publishes_nothing(duck, tmp_path):
    work_dir, env, published = duck
    before = sha256(published)
    code, output = run_to_end(cli(["build", "--vars", json.dumps(VARS_B)], env, work_dir,
                                  project_with_failing_test(tmp_path)))
    assert code == 1 and re.search(r"FAIL \d+ assert_always_fails", output), output[-3000:]
    assert f"Nothing was published: {published} is unchanged." in output
    assert sha256(published) == before


def test_duckdb_reader_keeps_its_build_while_a_new_one_is_published(duck):
    """DuckDB lets many read-only connections share a file but no writer beside them: the build
    writes a copy, and the rename leaves the reader on the file it opened."""
    work_dir, env, published = duck
    old = duckdb_record(published)
    reader = duckdb.connect(str(published), read_only=True)
    try:
        code, output = run_to_end(cli(["build", "--vars", json.dumps(VARS_B)], env, work_dir))
        assert code == 0, output[-3000:]
        assert reader.sql("select distinct build_id from main_marts.fct_build_record").fetchall() == [(old[0],)]
    finally:
        reader.close()
    new = duckdb_record(published)
    assert new[0] != old[0] and new[1] == VARS_B["as_of_date"]
    assert not list(work_dir.glob("*.building*"))


def test_duckdb_compact_rewrites_the_working_file_without_its_free_blocks(duck):
    """Free blocks in the middle of the working file, as a run's rebuilt tables leave them (here a
    table dropped before another, which stays until the end of the test); `compact` copies the
    database into a new file: no free block, the same tables and rows, and the published file
    untouched."""
    work_dir, env, published = duck
    working = working_path(published)
    with duckdb.connect(str(working)) as con:
        con.execute("create table main.dropped as select range as n, md5(range::varchar) as h from range(300000)")
        con.execute("create table main.kept as select range as n from range(10)")
        con.execute("drop table main.dropped")
        con.execute("checkpoint")

    def state() -> tuple[int, dict]:
        con = duckdb.connect(str(working), read_only=True)
        try:
            free = con.execute("pragma database_size").fetchone()[5]
            tables = {(s, t): con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]
                      for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
            return free, tables
        finally:
            con.close()

    free, tables = state()
    assert free > 0
    size, published_before = working.stat().st_size, sha256(published)
    code, output = run_to_end(cli(["compact"], env, work_dir))
    assert code == 0 and f"Compacted the working file {working}" in output, output
    assert state() == (0, tables)
    assert working.stat().st_size < size and sha256(published) == published_before
    with duckdb.connect(str(working)) as con:
        con.execute("drop table main.kept")


@contextlib.contextmanager
def small_disk(where: Path, size: int):
    """A disk of `size` bytes mounted at `where` (a tmpfs: needs root, which CI's machine has)."""
    where.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a small disk for this test: {mounted.stderr}")
        pytest.skip(f"mounting a tmpfs needs root: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_duckdb_a_full_disk_is_one_line_naming_the_path_and_publishes_nothing(duck, tmp_path):
    """On a disk with room for the published file, the working file and 256 KB more: a daily build
    (as of another day, so it rewrites its tables) does not fit. Then, with the working file's room
    taken by another file, a full refresh (which starts a new working file of several MB) does not
    fit either, nor do dbt's own files when the project's target/ and logs/ are on that disk too
    (dbt then prints a Python traceback for every log message it cannot write). Each stops with one
    line, the last, that names the folder and the space the build had written, and no traceback;
    the published file is as it was and no building file is left."""
    work_dir, env, published = duck
    working = working_path(published)
    size = published.stat().st_size + working.stat().st_size
    with small_disk(tmp_path / "disk", size + 256 * 1024) as disk:
        on_disk = disk / published.name
        shutil.copyfile(published, on_disk)
        working_path(on_disk).parent.mkdir()
        shutil.copyfile(working, working_path(on_disk))
        before = sha256(on_disk)
        small_env = {**env, "LIFECYCLE_DUCKDB_PATH": str(on_disk)}
        said = r"the build had written [\d.]+ (bytes|KB|MB) to .* when it stopped"
        for extra, dbt_files in [([], work_dir), (["--full-refresh"], work_dir), (["--full-refresh"], disk)]:
            if extra and working_path(on_disk).exists():
                working_path(on_disk).unlink()
                (disk / "another file").write_bytes(b"\0" * working.stat().st_size)
            code, output = run_to_end(cli(["build", *extra, "--vars", json.dumps(VARS_B)], small_env, dbt_files))
            assert code == 1, output[-3000:]
            assert "Traceback" not in output and "Logging error" not in output, output[-3000:]
            # The command's last line (dbt's own errors, if it ran, come before it).
            last = output.strip().splitlines()[-1]
            assert last.startswith(f"No space left on device in {disk}") and re.search(said, last), output[-3000:]
            assert sha256(on_disk) == before
            assert not list(disk.glob("*.building*"))


def test_duckdb_a_daily_run_killed_mid_way_then_run_again_equals_a_full_refresh(tmp_path):
    """The working file is updated in place: kill -9 a daily run (a new load of orders,
    test_loads.LATER_ORDERS) once it has written an incremental model. The published file stays as
    it was; the next run publishes marts equal to a full refresh of the same files."""
    data, later = two_loads(tmp_path)
    held_back = tmp_path / later.name
    later.rename(held_back)  # the first build sees the first load only
    # The data tests are not what this test is about: left out, the builds are shorter.
    env = {"LIFECYCLE_TARGET": "duckdb", "LIFECYCLE_DATA_DIR": str(data), "LIFECYCLE_RAW_SCHEMA": "",
           "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test test"}
    daily = {**env, "LIFECYCLE_DUCKDB_PATH": str(tmp_path / "daily" / "lifecycle.duckdb")}
    code, output = run_to_end(cli(["build", "--vars", json.dumps(VARS_A)], daily, tmp_path / "daily"))
    assert code == 0, output[-3000:]
    published = Path(daily["LIFECYCLE_DUCKDB_PATH"])
    before = sha256(published)
    held_back.rename(later)  # the new load arrives (its modification time is the later one)
    kill_when(cli(["build", "--vars", json.dumps(VARS_A)], daily, tmp_path / "daily"), r"OK created sql incremental model ")
    assert sha256(published) == before
    code, output = run_to_end(cli(["build", "--vars", json.dumps(VARS_A)], daily, tmp_path / "daily"))
    assert code == 0, output[-3000:]
    fresh = {**env, "LIFECYCLE_DUCKDB_PATH": str(tmp_path / "fresh" / "lifecycle.duckdb")}
    code, output = run_to_end(cli(["build", "--full-refresh", "--vars", json.dumps(VARS_A)], fresh, tmp_path / "fresh"))
    assert code == 0, output[-3000:]
    builds = [Build("duckdb", tmp_path / name, e, "", 0) for name, e in (("daily", daily), ("fresh", fresh))]
    marts = [m for m in PUBLISHED if m != "fct_build_record"]
    assert_same_tables(*builds, marts)
    assert_same_tables(*builds, ["fct_build_record"], columns={"fct_build_record": BUILD_RECORD_DATA})
    # The new load is in: O1 is returned (the later load's row wins, test_loads).
    assert builds[0].query("select status from {{ fct_orders }} where order_id = 'O1'") == [("returned",)]


# PostgreSQL ------------------------------------------------------------------------------------

def published_tables(server, schema: str) -> dict[str, str]:
    """Every table of the published schema as the sorted text of its rows (COPY's bytes)."""
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("select table_name from information_schema.tables where table_schema = %s", (schema,))
            tables = sorted(name for (name,) in cur.fetchall())
            dumped = {}
            for table in tables:
                buffer = io.StringIO()
                cur.copy_expert(f'copy "{schema}"."{table}" to stdout', buffer)
                dumped[table] = "".join(sorted(buffer.getvalue().splitlines(keepends=True)))
        return dumped
    finally:
        conn.close()


def assert_one_build(server, schema: str) -> str:
    """The published schema holds every mart of one build: the record's row counts are the tables'."""
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f'select build_id, mart_name, row_count from "{schema}".fct_build_record')
            record = cur.fetchall()
            assert len(record) == len(PUBLISHED) - 1 and len({r[0] for r in record}) == 1
            for _, mart, rows in record:
                cur.execute(f'select count(*) from "{schema}"."{mart}"')
                assert cur.fetchone()[0] == rows, mart
        return record[0][0]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pg(pg_server, tmp_path_factory):
    """Build A published on PostgreSQL, with a reader role for BI tools (README "Connect a BI tool")."""
    admin = pg_server.connect()
    with admin.cursor() as cur:
        cur.execute("select 1 from pg_roles where rolname = 'bi_reader'")
        if not cur.fetchone():
            cur.execute("create role bi_reader login")
    admin.commit()
    admin.close()
    a = build("postgres", tmp_path_factory.mktemp("publish-pg"), server=pg_server, data_dir=FIXTURES / "tiny",
              cli=True, dbt_vars={"reader_role": "bi_reader", **DIRTY_DATA_VARS})
    assert a.ok, a.output[-3000:]
    a.env["LIFECYCLE_READER_ROLE"] = "bi_reader"  # the later builds of these tests grant it too
    schema = a.published_relation("dim_customers").split(".")[-2].strip('"')
    return a, schema


def test_postgres_kill_9_during_the_build_and_a_failing_test_publish_nothing(pg, pg_server, tmp_path):
    a, schema = pg
    before = published_tables(pg_server, schema)
    assert len(before) == len(PUBLISHED)
    kill_when(cli(["build", "--vars", json.dumps(VARS_B)], a.env, a.work_dir), r"OK created sql table model \w+_marts_build\.")
    assert published_tables(pg_server, schema) == before
    code, output = run_to_end(cli(["build", "--vars", json.dumps(VARS_B)], a.env, a.work_dir,
                                  project_with_failing_test(tmp_path)))
    assert code == 1 and re.search(r"FAIL \d+ assert_always_fails", output), output[-3000:]
    assert published_tables(pg_server, schema) == before
    assert_one_build(pg_server, schema)


def test_postgres_publish_is_one_transaction(pg, pg_server):
    """A reader's open transaction on a published mart makes the publish wait; meanwhile readers
    see the old build. The build is killed while it waits. The server holds the whole transaction
    it was sent: it commits all of it or none once the reader lets go, never a mix."""
    a, schema = pg
    old_build = assert_one_build(pg_server, schema)
    reader = pg_server.connect()
    with reader.cursor() as cur:
        cur.execute(f'select count(*) from "{schema}".dim_customers')  # holds its lock until rollback
    log = open(a.work_dir / "publish-wait.log", "w")
    process = cli(["build", "--vars", json.dumps(VARS_B)], a.env, a.work_dir, output=log)
    watcher = pg_server.connect()
    watcher.autocommit = True
    # The publish statement of the build, running (not this query, whose text holds the pattern too).
    publishing = ("select count(*) from pg_stat_activity where pid <> pg_backend_pid() and state = 'active'"
                  " and query like %s", (f"%create schema if not exists \"{schema}\"%",))
    try:
        deadline = time.monotonic() + 600
        while not query_one(watcher, publishing[0] + " and wait_event_type = 'Lock'", publishing[1]):
            assert process.poll() is None, (a.work_dir / "publish-wait.log").read_text()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.5)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        assert query_one(watcher, f'select distinct build_id from "{schema}".fct_build_record') == old_build
        reader.rollback()
        deadline = time.monotonic() + 60
        while query_one(watcher, *publishing):
            assert time.monotonic() < deadline, "the publish did not end"
            time.sleep(0.5)
        published_build = assert_one_build(pg_server, schema)
        print(f"after the kill the published build is {'the old' if published_build == old_build else 'the new'} one")
        if published_build != old_build:
            as_of = query_one(watcher, f'select distinct cast(as_of_date as text) from "{schema}".fct_build_record')
            assert as_of == VARS_B["as_of_date"]
    finally:
        reader.close()
        watcher.close()
        log.close()


def query_one(conn, sql: str, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def test_postgres_reader_role_reads_the_published_marts_and_nothing_else(pg, pg_server):
    """After the publishes above, the reader role reads every published mart, and is refused the
    build schema, staging, intermediate and raw."""
    import psycopg2

    a, schema = pg
    reader = psycopg2.connect(host=pg_server.host, port=pg_server.port, user="bi_reader", dbname=pg_server.database)
    reader.autocommit = True
    try:
        with reader.cursor() as cur:
            cur.execute("select count(*) from information_schema.tables where table_schema = %s", (schema,))
            assert cur.fetchone()[0] == len(PUBLISHED)
            for model in model_names(a, "marts"):
                cur.execute(f"select count(*) from {a.published_relation(model)}")
                assert cur.fetchone()[0] >= 0
            denied = [a.relation("dim_customers"), a.relation("stg_shop__customers"), a.relation("int_persons"),
                      f'{a.env["LIFECYCLE_RAW_SCHEMA"]}.customers']
            for relation in denied:
                try:
                    cur.execute(f"select count(*) from {relation}")
                except psycopg2.errors.InsufficientPrivilege as exc:
                    assert "permission denied" in str(exc)
                else:
                    raise AssertionError(f"bi_reader could read {relation}")
    finally:
        reader.close()


def test_postgres_published_marts_keep_their_primary_keys_and_comments(pg, pg_server):
    """The published copies carry the build tables' primary keys and the YAML descriptions as table
    and column comments (persist_docs), as BI tools read them from <schema>_marts."""
    a, schema = pg
    manifest = json.loads((a.work_dir / "target" / "manifest.json").read_text())
    node = next(n for n in manifest["nodes"].values() if n["name"] == "dim_customers" and n["resource_type"] == "model")
    conn = pg_server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("""
                select count(*) from information_schema.table_constraints
                where table_schema = %s and constraint_type = 'PRIMARY KEY'""", (schema,))
            keyed = cur.fetchone()[0]
            cur.execute("""
                select kcu.column_name from information_schema.table_constraints tc
                join information_schema.key_column_usage kcu
                  on tc.constraint_name = kcu.constraint_name and tc.table_schema = kcu.table_schema
                where tc.table_schema = %s and tc.table_name = 'dim_customers' and tc.constraint_type = 'PRIMARY KEY'
                """, (schema,))
            assert [r[0] for r in cur.fetchall()] == ["customer_id"]
            cur.execute("select obj_description(to_regclass(%s), 'pg_class'), col_description(to_regclass(%s), 1)",
                        (f'"{schema}".dim_customers', f'"{schema}".dim_customers'))
            table_comment, first_column_comment = cur.fetchone()
    finally:
        conn.close()
    # Every published mart (the build record too) declares its grain as a primary key.
    assert keyed == len(PUBLISHED)
    assert table_comment == node["description"].strip()
    assert first_column_comment == node["columns"]["customer_id"]["description"].strip()

"""The README's commands, run as written.

Every command in README.md's shell blocks is listed in RUN_BY with the test that runs it (on the
demo or a fixture, with the paths the README leaves to the reader filled in), and the tests take
the command's text from README.md itself (readme_command): a command that changes is run as it
now reads, and one that is added or removed fails test_readme.py until it is placed here. The
runs are the builds the suite shares (conftest.py), so running the README costs few builds of its own.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from .harness import PROJECT_DIR, WITHOUT_UNIT_TESTS, Build, close_spark_process
from .spark_process import SparkProcess

README = PROJECT_DIR / "README.md"

# command (as README.md writes it, without its comment) -> the test that runs it, and on what.
RUN_BY = {
    "make demo": "conftest.py demo_builds('duckdb'): the DuckDB demo build every test of the demo reads",
    "make test": "not run by a test: it is this suite (.ci/run runs it)",
    "make test-quick": "not run by a test: the DuckDB part of this suite; test_readme.py checks what it selects",
    "make docs": "test_readme.py: the docs site over the demo warehouse",
    "LIFECYCLE_DATA_DIR=/path/to/files .venv/bin/python -m customer_lifecycle build":
        "test_incremental.py: the full refresh of snapshot B1 on DuckDB (also test_spark.py's twin)",
    "LIFECYCLE_RAW_SCHEMA=raw .venv/bin/python -m customer_lifecycle build":
        "test_incremental.py: the full refresh of snapshot B2 on DuckDB, its tables loaded into schema raw",
    "export LIFECYCLE_TARGET=postgres LIFECYCLE_PG_HOST=127.0.0.1 LIFECYCLE_PG_PORT=5432 LIFECYCLE_PG_USER=me "
    "LIFECYCLE_PG_PASSWORD=... LIFECYCLE_PG_DATABASE=shop LIFECYCLE_PG_SCHEMA=lifecycle":
        "conftest.py demo_builds('postgres'): the environment of the block, pointing at the test server",
    ".venv/bin/python -m customer_lifecycle load-files seeds/demo --prefix raw_ --schema raw":
        "conftest.py demo_builds('postgres')",
    ".venv/bin/python -m customer_lifecycle load-files /path/to/files --schema raw":
        "conftest.py demo_builds('postgres'), on the demo's files named like the tables",
    "LIFECYCLE_RAW_SCHEMA=raw .venv/bin/python -m customer_lifecycle build@postgres":
        "conftest.py demo_builds('postgres'): the PostgreSQL demo build every test of it reads",
    "LIFECYCLE_TARGET=spark .venv/bin/python -m customer_lifecycle build":
        "test_spark_demo.py: the Spark demo build, compared mart for mart with DuckDB's",
    "LIFECYCLE_TARGET=spark LIFECYCLE_DATA_DIR=/path/to/files .venv/bin/python -m customer_lifecycle build":
        "test_spark.py: snapshot A of the incremental story",
    "LIFECYCLE_TARGET=spark LIFECYCLE_RAW_SCHEMA=raw .venv/bin/python -m customer_lifecycle build":
        "test_spark.py: snapshot B1, incrementally, its tables loaded into the Spark database raw",
    ".venv/bin/python -m customer_lifecycle.generator --preset medium --seed 7 --out /tmp/shop --format parquet":
        "test_readme.py",
    ".venv/bin/python -m customer_lifecycle.generator --preset demo --seed 7 --out /tmp/dirty --bad-rate 0.02":
        "test_readme.py",
    ".venv/bin/mf list metrics": "test_readme.py, on the demo build",
    ".venv/bin/mf query --metrics net_revenue,churn_rate --group-by metric_time__month": "test_readme.py",
    ".venv/bin/mf query --metrics new_customers --group-by metric_time__month,order__acquisition_channel":
        "test_readme.py",
    ".venv/bin/mf query --saved-query kpis_monthly": "test_readme.py",
}

# The PostgreSQL block's first line, which sets the environment of the commands below it.
PG_EXPORT = next(command for command in RUN_BY if command.startswith("export LIFECYCLE_TARGET=postgres"))

# Commands written once for DuckDB and again inside the PostgreSQL block.
WRITTEN_TWICE = {"LIFECYCLE_RAW_SCHEMA=raw .venv/bin/python -m customer_lifecycle build"}


def readme_commands() -> list[str]:
    """The commands of README.md's shell blocks in order: continuation lines joined, comments
    dropped. A command that appears in more than one block is told apart by the engine of the block
    (`<command>@postgres` after a block's `export LIFECYCLE_TARGET=postgres`)."""
    commands, in_block, target, pending = [], False, "", ""
    for line in README.read_text(encoding="utf-8").splitlines():
        if not in_block:
            if re.fullmatch(r"```(sh|bash|shell)", line.strip()):
                in_block, target = True, ""
            continue
        if line.strip() == "```":
            in_block = False
            continue
        text = re.sub(r"(^|\s+)#.*$", "", line).strip()
        if not text:
            continue
        pending = f"{pending} {text}" if pending else text
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        command, pending = pending, ""
        if command.startswith("export ") and "LIFECYCLE_TARGET=postgres" in command:
            target = "postgres"
        commands.append(f"{command}@{target}" if target and command in WRITTEN_TWICE else command)
    return commands


def readme_command(key: str) -> str:
    """The command's text as README.md writes it (key: RUN_BY's key); fails when README lacks it."""
    assert key in readme_commands(), f"README.md has no command {key!r}: update pytests/readme.py"
    return key.split("@")[0]


def export_env(key: str, values: dict[str, str]) -> dict[str, str]:
    """The variables of a README `export` line, those named in `values` replaced (e.g. the test
    server's connection instead of the README's example)."""
    assignments = dict(word.split("=", 1) for word in shlex.split(readme_command(key))[1:])
    return {**assignments, **{k: v for k, v in values.items() if k in assignments}}


def _command_and_env(key: str, work_dir: Path, env: dict[str, str] | None, paths: dict[str, str] | None,
                     unit_tests: bool) -> tuple[str, dict[str, str]]:
    """The command's text with the placeholder paths filled in, and the environment it runs in."""
    text = readme_command(key)
    for placeholder, path in (paths or {}).items():
        text = text.replace(placeholder, shlex.quote(str(path)))
    work_dir.mkdir(parents=True, exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("LIFECYCLE_")}
    run_env = {**base, "DO_NOT_TRACK": "1", "DBT_TARGET_PATH": str(work_dir / "target"),
               "DBT_LOG_PATH": str(work_dir / "logs"), "LIFECYCLE_DATA_DIR": "", "LIFECYCLE_RAW_SCHEMA": "",
               **({} if unit_tests else WITHOUT_UNIT_TESTS), **(env or {})}
    return text, run_env


def _assignments(words: list[str]) -> dict[str, str]:
    """What a command sets in front of itself (VAR=value ...)."""
    return dict(w.split("=", 1) for w in words[:next(i for i, w in enumerate(words) if "=" not in w)])


def _build_env(text: str, run_env: dict[str, str], engine: str) -> dict[str, str]:
    """The project's variables a command ran with: its environment and what it set itself."""
    build_env = {k: v for k, v in {**run_env, **_assignments(shlex.split(text))}.items() if k.startswith("LIFECYCLE_")}
    build_env.setdefault("LIFECYCLE_TARGET", engine)
    return build_env


def run_readme(key: str, *, engine: str, work_dir: Path, env: dict[str, str] | None = None,
               paths: dict[str, str] | None = None, server=None, cwd: Path = PROJECT_DIR,
               unit_tests: bool = False) -> Build:
    """Run a README command with bash in the project directory (cwd), as a user would: its text as
    written, the README's placeholder paths replaced by `paths`, dbt's target/ and logs/ in
    work_dir, and `env` (where the DuckDB file is, a block's exports) on top of an environment
    without the project's own variables. unit_tests: run dbt's unit tests too (the demo builds;
    harness.WITHOUT_UNIT_TESTS)."""
    close_spark_process(env or {})  # a Spark process on this warehouse holds its Derby catalogue
    text, run_env = _command_and_env(key, work_dir, env, paths, unit_tests)
    done = subprocess.run(["bash", "-c", text], cwd=cwd, env=run_env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return Build(engine, work_dir, _build_env(text, run_env, engine), done.stdout, done.returncode, server)


def run_readme_in(spark: SparkProcess, key: str, *, work_dir: Path, env: dict[str, str] | None = None,
                  paths: dict[str, str] | None = None, unit_tests: bool = False) -> Build:
    """Run a README command of the CLI (`VAR=value ... .venv/bin/python -m customer_lifecycle ...`)
    as run_readme does, with the same arguments and environment, but in the Spark process `spark`
    (the CLI's main() called there), so that the Spark builds of a test file share one JVM."""
    text, run_env = _command_and_env(key, work_dir, env, paths, unit_tests)
    words = shlex.split(text)
    assignments = _assignments(words)
    command = words[len(assignments):]
    assert command[:3] == [".venv/bin/python", "-m", "customer_lifecycle"], f"not a command of the CLI: {text}"
    output = work_dir / "output.txt"
    code = spark.run("cli", command[3:], {**run_env, **assignments}, output)
    return Build("spark", work_dir, _build_env(text, run_env, "spark"), output.read_text(), code)

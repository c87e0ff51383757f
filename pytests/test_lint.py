"""sqlfluff (dbt templater, duckdb dialect) is the style contract: the project lints clean."""
import json
import os
import subprocess
import sys
from pathlib import Path

from .harness import PROJECT_DIR


def test_sqlfluff_lint_is_clean(demo_builds):
    demo = demo_builds("duckdb")  # the dbt templater compiles against a built database
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    env = {**os.environ, **demo.env, "DO_NOT_TRACK": "1"}
    # One process per core of this test's share (sqlfluff's --processes): the cores over the suite's
    # workers, each of which runs a test file beside this one. The JSON report lists every file read.
    share = max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    result = subprocess.run([str(sqlfluff), "lint", "models", "tests", "--disable-progress-bar", "--nocolor",
                             "--processes", str(share), "--format", "json"],
                            cwd=PROJECT_DIR, env=env, text=True, capture_output=True)
    report = json.loads(result.stdout)
    violations = [(f["filepath"], v) for f in report for v in f["violations"]]
    assert result.returncode == 0 and not violations, (violations[:20], result.stderr[-3000:])
    linted = {str(Path(f["filepath"]).resolve().relative_to(PROJECT_DIR)) for f in report}
    every = {str(p.relative_to(PROJECT_DIR)) for folder in ("models", "tests") for p in (PROJECT_DIR / folder).rglob("*.sql")}
    assert linted == every, sorted(every ^ linted)

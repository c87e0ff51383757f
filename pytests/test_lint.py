"""sqlfluff (dbt templater, duckdb dialect) is the style contract: the project lints clean."""
import os
import subprocess
import sys
from pathlib import Path

from .harness import PROJECT_DIR


def test_sqlfluff_lint_is_clean(demo_builds):
    demo = demo_builds("duckdb")  # the dbt templater compiles against a built database
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    env = {**os.environ, **demo.env, "DO_NOT_TRACK": "1"}
    result = subprocess.run([str(sqlfluff), "lint", "models", "tests", "--disable-progress-bar", "--nocolor"],
                            cwd=PROJECT_DIR, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert result.returncode == 0, result.stdout[-8000:]
    assert "All Finished" in result.stdout

"""A local Spark session with the settings of the `spark` target in profiles.yml.

dbt-spark's session method runs Spark inside dbt's own process; when dbt has finished, the CLI
opens the same warehouse (Parquet files and the Derby table catalogue, which only one process may
hold at a time) through spark_session() to read and write the small CLV fit tables. The settings
are read from the profile itself, so that they are defined in one place.
"""
from __future__ import annotations

import os

import jinja2
import yaml

from .contract import PROJECT_DIR


def profile_spark_settings() -> dict[str, str]:
    """server_side_parameters of the `spark` output of profiles.yml, rendered with the environment."""
    profile = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    output = profile["customer_lifecycle"]["outputs"]["spark"]

    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise KeyError(f"environment variable {name} is not set")
        return default

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.globals["env_var"] = env_var
    params = {str(k): env.from_string(str(v)).render() for k, v in output["server_side_parameters"].items()}
    # dbt-spark pins ANSI mode off on every session it opens; so does this one.
    params["spark.sql.ansi.enabled"] = "false"
    return params


def spark_session():
    """The SparkSession of this process, started with the profile's settings."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in profile_spark_settings().items():
        builder = builder.config(key, value)
    # The profile's relative paths (warehouse, catalogue) are relative to the project directory,
    # where dbt runs; the JVM takes the working directory it is started in.
    here = os.getcwd()
    os.chdir(PROJECT_DIR)
    try:
        session = builder.getOrCreate()
    finally:
        os.chdir(here)
    session.sparkContext.setLogLevel("ERROR")
    return session

"""Benchmark of the whole build: full, incremental after a one-day delta, and the raw-SQL floor.

    python benchmarks/bench_build.py [--presets 1m,10m,100m] [--engines duckdb[,postgres][,spark]]
        [--data-root DIR] [--seed 42] [--threads N] [--results-dir DIR] [--report FILE]

Presets (generator preset and --customers):
  1m    large with 28,800 customers (about 1.0 million events, the same parts layout as large)
  10m   large (about 10 million events)
  100m  xlarge (about 100 million events)
  NAME=PRESET[:CUSTOMERS]  any other, e.g. smoke=large:2000 (for trying the script on a small store)

For each preset the raw data is generated once into <data-root>/<preset>/data (reused when its
ground_truth.json matches). For each engine, in <data-root>/<preset>/<engine>/:
  1. full build: `python -m customer_lifecycle build --full-refresh` on a fresh database (when the
     CLI has no --full-refresh: the DuckDB file is deleted and `build` is run); wall time, peak
     memory of the process tree (sum of RSS, PSS for PostgreSQL and its server, polled from /proc),
     1-minute load average sampled during the run;
  2. raw-SQL floor (DuckDB): every model's compiled SQL from target/manifest.json run as
     `create or replace table|view <relation> as <sql>` with the duckdb Python API, in DAG order
     with as many workers as dbt threads and the same DuckDB settings, into a copy of the built
     database (seeds and raw files are there); Python models are copied from the built database.
     dbt/raw = the sum of dbt's model execution times (run_results.json) over the sum of the raw
     times, over the models both ran;
  3. incremental run: a one-day delta written beside the data (new events and orders of existing
     customers and new visitors on the day after the last day, a late order in the first month,
     status changes of existing orders), then `build`; the delta is undone afterwards (extra parts
     are named bench-delta*.parquet, rewritten files keep their original as *.bench-orig), and
     before every full build, so that runs repeat;
  4. the 10 slowest models of the full build, the database size against the raw data's size.
PostgreSQL (--engines postgres, meant for the 1m store): a throwaway server (customer_lifecycle.
pgserver), the files loaded with load_into_postgres (timed apart), build (dbt, the CLV fit, dbt) as
the full build, reload + build as the incremental run; no raw floor.
Spark (--engines spark): local Spark (session method) reading the same files in place, in
<work>/spark-warehouse; build --full-refresh, then the incremental run; the database size is the
Parquet warehouse's; no raw floor.

Results go to benchmarks/results/<preset>-<engine>.json; BENCHMARKS.md is rendered from every
results file, so rows of presets not run this time are kept.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from customer_lifecycle import contract  # noqa: E402
from customer_lifecycle.publish import working_path  # noqa: E402

PY = sys.executable
PRESETS = {"1m": ("large", 28800), "10m": ("large", None), "100m": ("xlarge", None)}
PINNED_VARS = '{max_valid_at: "2030-01-01 00:00:00"}'
DELTA_SUFFIX = "bench-delta"
ORIG_SUFFIX = ".bench-orig"
GOALS = {
    "full_10m_s": 120.0,            # full build at 10M events, seconds
    "incremental_share_10m": 0.10,  # incremental / full at 10M
    "dbt_over_raw": 1.1,            # dbt model time / raw SQL time
    "peak_rss_100m_gib": 16.0,      # peak memory at 100M
    "scaling_100m_over_10m": 11.0,  # t(100M) / t(10M)
    "daily_share_10m": 0.15,        # mean daily run of the story / full build at 10M
    "daily_share_100m": 0.05,       # the same at 100M
    "daily_100m_over_10m": 3.0,     # t_daily(100M) / t_daily(10M): a day's cost follows the delta
    "working_file_after_30_days": 1.2,  # working file after 30 daily runs / a fresh build's (1M)
}
GIB = 2 ** 30


# --------------------------------------------------------------------------------------------
# Measuring a child process: wall time, peak memory of its process tree, load average
# --------------------------------------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        out.setdefault(ppid, []).append(int(entry))
    return out


def _proc_kib(pid: int, pss: bool) -> int:
    try:
        if pss:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        return int(line.split()[1])
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class Monitor(threading.Thread):
    """Polls the memory of the process trees under `roots` and the load average."""

    def __init__(self, roots, pss=False, interval=0.25):
        super().__init__(daemon=True)
        self.roots, self.pss, self.interval = list(roots), pss, interval
        self.peak_kib, self.loads = 0, []
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            kids = _children()
            seen, todo = set(), list(self.roots)
            while todo:
                pid = todo.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                todo.extend(kids.get(pid, []))
            self.peak_kib = max(self.peak_kib, sum(_proc_kib(p, self.pss) for p in seen))
            self.loads.append(os.getloadavg()[0])
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join()


def run_measured(cmd, env, log: Path, extra_roots=(), pss=False, cwd: Path = REPO) -> dict:
    print(f"  $ {' '.join(cmd)}", flush=True)
    with open(log, "w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT)
        mon = Monitor([proc.pid, *extra_roots], pss=pss)
        mon.start()
        rc = proc.wait()
        seconds = time.perf_counter() - t0
        mon.stop()
    loads = mon.loads or [os.getloadavg()[0]]
    out = {"seconds": round(seconds, 2), "peak_rss_gib": round(mon.peak_kib / 2 ** 20, 3), "returncode": rc,
           "load_avg_mean": round(sum(loads) / len(loads), 2), "load_avg_max": round(max(loads), 2),
           "log": str(log)}
    if rc != 0:
        tail = log.read_text(errors="replace").splitlines()[-30:]
        print("  FAILED (exit %d), last lines of %s:\n    %s" % (rc, log, "\n    ".join(tail)), flush=True)
    else:
        print(f"  {seconds:.1f} s, peak {out['peak_rss_gib']:.2f} GiB, load {out['load_avg_mean']}", flush=True)
    return out


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
def parse_presets(text: str) -> dict[str, tuple[str, int | None]]:
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        if "=" in item:
            name, _, spec = item.partition("=")
            preset, _, customers = spec.partition(":")
            out[name] = (preset, int(customers) if customers else None)
        elif item in PRESETS:
            out[item] = PRESETS[item]
        else:
            raise SystemExit(f"unknown preset {item!r}: use {', '.join(PRESETS)} or NAME=PRESET[:CUSTOMERS]")
    return out


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def ensure_data(root: Path, name: str, preset: str, customers: int | None, seed: int) -> tuple[Path, dict | None]:
    data = root / name / "data"
    gt_path = data / "ground_truth.json"
    if gt_path.exists():
        gt = json.loads(gt_path.read_text())
        from customer_lifecycle.generator.params import resolve
        want = resolve(preset, {"customers": customers})["customers"]
        if gt["preset"] == preset and gt["seed"] == seed and gt["parameters"]["customers"] == want:
            reset_delta(data)
            print(f"[{name}] reusing {data}", flush=True)
            return data, None
    print(f"[{name}] generating preset {preset} (customers {customers or 'default'}) into {data}", flush=True)
    data.mkdir(parents=True, exist_ok=True)
    reset_delta(data)        # no delta files left beside a regenerated store
    cmd = [PY, "-m", "customer_lifecycle.generator", "--preset", preset, "--seed", str(seed), "--out", str(data)]
    if customers:
        cmd += ["--customers", str(customers)]
    gen = run_measured(cmd, dict(os.environ), root / name / "generate.log")
    if gen["returncode"] != 0:
        raise SystemExit("generation failed")
    return data, gen


def _table_path(data: Path, table: str) -> Path | None:
    for p in (data / f"{table}.parquet", data / table):
        if p.exists():
            return p
    return None


def _scan(data: Path, table: str) -> str:
    p = _table_path(data, table)
    if p is None:
        raise SystemExit(f"{data}: no Parquet {table} (the delta needs Parquet files or parts)")
    return f"read_parquet('{p}/*.parquet')" if p.is_dir() else f"read_parquet('{p}')"


def reset_delta(data: Path) -> None:
    """Undo the deltas: delete bench-delta parts (and the originals of those rewritten), put other
    rewritten files' originals back."""
    for f in data.rglob(f"{DELTA_SUFFIX}*.parquet"):
        f.unlink()
    for f in data.rglob(f"*{ORIG_SUFFIX}"):
        restored = f.with_name(f.name[: -len(ORIG_SUFFIX)])
        if restored.name.startswith(DELTA_SUFFIX):
            f.unlink()
        else:
            os.replace(f, restored)


def _add_rows(data: Path, table: str, rows: dict[str, list], day: int = 1) -> int:
    names = contract.columns(table)
    new = pa.table({c: pa.array(rows[c], pa.string()) for c in names})
    p = _table_path(data, table)
    if p.is_dir():  # a new part file: a new load
        pq.write_table(new, p / f"{DELTA_SUFFIX}-{day:02d}.parquet", compression="snappy")
    else:        # a single file: keep the original aside, write the file with the new rows added
        orig = p.with_name(p.name + ORIG_SUFFIX)
        if orig.exists():           # already rewritten by this delta (status changes)
            old = pq.read_table(p)
        else:
            os.replace(p, orig)
            old = pq.read_table(orig)
        pq.write_table(pa.concat_tables([old, new.select(old.column_names)]), p, compression="snappy")
    return new.num_rows


def _change_status(files_changes: dict[str, dict[str, str]]) -> int:
    """Rewrite order files in place (original kept as *.bench-orig) with new statuses."""
    n = 0
    for fname, changes in files_changes.items():
        f = Path(fname)
        orig = f.with_name(f.name + ORIG_SUFFIX)
        if not orig.exists():
            os.replace(f, orig)
        t = pq.read_table(orig)
        ids = t.column("order_id").to_pylist()
        st = t.column("status").to_pylist()
        for i, oid in enumerate(ids):
            if oid in changes:
                st[i] = changes[oid]
                n += 1
        t = t.set_column(t.column_names.index("status"), "status", pa.array(st, pa.string()))
        pq.write_table(t, f, compression="snappy")
    return n


def _fmt_ts(epoch: int) -> str:
    return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def write_delta(data: Path, seed: int = 1, day: int = 1) -> dict:
    """One day of new activity, `day` days after the data's last day, plus late rows (see the module
    docstring). Day 1 undoes earlier deltas first; a later day adds to those before it (a daily
    story: day 1, 2, 3, ... each a new part file per table, and order files rewritten)."""
    if day == 1:
        reset_delta(data)
    con = duckdb.connect()
    for k, v in (("TimeZone", "UTC"), ("threads", "2"), ("memory_limit", "4GB"), ("preserve_insertion_order", "false")):
        con.execute(f"SET {k} = '{v}'")
    ev, od, it, pr = (_scan(data, t) for t in ("events", "orders", "order_items", "products"))
    gt_path = data / "ground_truth.json"
    if gt_path.exists():
        gt = json.loads(gt_path.read_text())
        start = dt.date.fromisoformat(gt["date_range"]["start"])
        last = dt.date.fromisoformat(gt["date_range"]["end"])
    else:
        start, last = con.execute(f"select min(try_cast(ordered_at as timestamptz))::date, "
                              f"max(try_cast(ordered_at as timestamptz))::date from {od}").fetchone()
    n_days = (last - start).days + 1
    n_events, n_orders = (con.execute(f"select count(*) from {s}").fetchone()[0] for s in (ev, od))
    k_buy = max(1, round(n_orders / n_days))
    rest = max(0, round(n_events / n_days) - 5 * k_buy)
    k_browse, k_anon = max(1, round(0.6 * rest / 3)), max(1, round(0.4 * rest / 2))
    con.execute(f"""
        create temp table cust as
        select customer_id, arg_max(order_id, ts) as last_order_id, arg_max(currency, ts) as currency,
               min(ts) as first_ts
        from (select customer_id, order_id, currency, try_cast(ordered_at as timestamptz) as ts
              from {od} where status <> 'cancelled') where ts is not null
        group by customer_id""")
    sample = con.execute(f"select customer_id, last_order_id, currency from cust "
                     f"order by md5(customer_id || ':bench{'' if day == 1 else day}') limit {k_buy + k_browse}").fetchall()
    late = con.execute(f"select customer_id, last_order_id, currency, epoch(first_ts)::bigint from cust "
                   f"where first_ts < timestamptz '{start}' + interval 31 day "
                   f"order by md5(customer_id || ':late') limit 3").fetchall()
    con.execute("create temp table pick as select unnest(?) as customer_id, unnest(?) as last_order_id",
                [[r[0] for r in sample + late], [r[1] for r in sample + late]])
    items = {r[0]: r[1:] for r in con.execute(f"""
        select i.order_id, arg_min(i.product_id, i.order_item_id), arg_min(i.quantity, i.order_item_id),
               arg_min(i.unit_price, i.order_item_id)
        from {it} as i where i.order_id in (select last_order_id from pick) group by i.order_id""").fetchall()}
    devices = {r[0]: r[1:] for r in con.execute(f"""
        select customer_id, arg_max(anonymous_id, ts), arg_max(device, ts)
        from (select customer_id, anonymous_id, device, try_cast(occurred_at as timestamptz) as ts from {ev}
              where customer_id in (select customer_id from pick)) group by customer_id""").fetchall()}
    ev_max, ev_w, an_max, an_w = con.execute(f"""
        select max(try_cast(substr(event_id, 2) as bigint)), max(length(event_id)) - 1,
               max(try_cast(substr(anonymous_id, 6) as bigint)), max(length(anonymous_id)) - 5 from {ev}""").fetchone()
    o_max, o_w = con.execute(f"select max(try_cast(substr(order_id, 2) as bigint)), max(length(order_id)) - 1 from {od}").fetchone()
    i_max, i_w = con.execute(f"select max(try_cast(substr(order_item_id, 3) as bigint)), max(length(order_item_id)) - 2 "
                         f"from {it}").fetchone()
    products = [r[0] for r in con.execute(f"select product_id from {pr} order by product_id").fetchall()]
    # status changes: orders placed on the last day are shipped now; a few early deliveries come back
    changes = con.execute(f"""
        (select order_id, filename, 'shipped' from read_parquet({_glob_list(data, 'orders')}, filename = true)
         where status = 'placed' order by md5(order_id) limit 20)
        union all
        (select order_id, filename, 'returned' from read_parquet({_glob_list(data, 'orders')}, filename = true)
         where status = 'delivered' and try_cast(ordered_at as timestamptz) < timestamptz '{start}' + interval 31 day
         order by md5(order_id) limit 3)""").fetchall()
    con.close()

    rng = np.random.default_rng(seed)
    day0 = int(dt.datetime(last.year, last.month, last.day, tzinfo=dt.timezone.utc).timestamp()) + 86400 * day
    E = {c: [] for c in contract.columns("events")}
    O = {c: [] for c in contract.columns("orders")}
    I = {c: [] for c in contract.columns("order_items")}
    counters = {"e": ev_max, "a": an_max, "o": o_max, "i": i_max}

    def event(anon, cust, etype, t, product=None, order=None, channel="direct", device="desktop"):
        counters["e"] += 1
        for c, v in zip(contract.columns("events"), (f"E{counters['e']:0{ev_w}d}", anon, cust, etype, _fmt_ts(t),
                                                      product, order, channel, device)):
            E[c].append(v)

    def order(cust, t, status, currency, item):
        counters["o"] += 1
        counters["i"] += 1
        oid = f"O{counters['o']:0{o_w}d}"
        product, qty, unit = item
        total = Decimal(unit) * int(qty)
        for c, v in zip(contract.columns("orders"), (oid, cust, _fmt_ts(t), status, currency, f"{total:.2f}")):
            O[c].append(v)
        for c, v in zip(contract.columns("order_items"), (f"OI{counters['i']:0{i_w}d}", oid, product, str(qty), unit)):
            I[c].append(v)
        return oid, product

    fallback_item = (products[0], 1, "10.00")
    for j, (cust, last_order, currency) in enumerate(sample):
        anon, device = devices.get(cust, (None, "desktop"))
        if anon is None:
            counters["a"] += 1
            anon = f"anon-{counters['a']:0{an_w}d}"
        t = day0 + int(rng.integers(0, 86400 - 600))
        item = items.get(last_order, fallback_item)
        if j < k_buy:        # a purchase visit
            oid, product = order(cust, t + 120, "placed", currency, item)
            event(anon, cust, "page_view", t, device=device)
            event(anon, cust, "product_view", t + 30, product, device=device)
            event(anon, cust, "add_to_cart", t + 60, product, device=device)
            event(anon, cust, "begin_checkout", t + 90, device=device)
            event(anon, cust, "purchase", t + 120, order=oid, device=device)
        else:                # a browsing visit
            product = products[int(rng.integers(0, len(products)))]
            event(anon, cust, "page_view", t, device=device)
            event(anon, cust, "product_view", t + 30, product, device=device)
            event(anon, cust, "add_to_cart", t + 60, product, device=device)
    for _ in range(k_anon):  # new visitors
        counters["a"] += 1
        anon = f"anon-{counters['a']:0{an_w}d}"
        t = day0 + int(rng.integers(0, 86400 - 600))
        event(anon, None, "page_view", t, channel="organic_search", device="mobile")
        event(anon, None, "product_view", t + 40, products[int(rng.integers(0, len(products)))],
              channel="organic_search", device="mobile")
    n_late = 0
    for cust, last_order, currency, first_epoch in late:   # late orders in the first month
        order(cust, first_epoch + 2 * 86400, "delivered", currency, items.get(last_order, fallback_item))
        n_late += 1
    by_file: dict[str, dict[str, str]] = {}
    for oid, fname, new_status in changes:
        by_file.setdefault(fname.replace(ORIG_SUFFIX, ""), {})[oid] = new_status
    n_changed = _change_status(by_file) if by_file else 0
    out = {"day": (last + dt.timedelta(days=day)).isoformat(), "events": _add_rows(data, "events", E, day),
           "orders": _add_rows(data, "orders", O, day), "order_items": _add_rows(data, "order_items", I, day),
           "late_orders": n_late, "status_changes": n_changed, "customers_touched": len(sample) + n_late,
           "new_visitors": k_anon}
    print(f"  delta: {out}", flush=True)
    return out


def _glob_list(data: Path, table: str) -> str:
    p = _table_path(data, table)
    return f"'{p}/*.parquet'" if p.is_dir() else f"'{p}'"


# --------------------------------------------------------------------------------------------
# dbt artefacts and the raw-SQL floor
# --------------------------------------------------------------------------------------------
def load_artifacts(target: Path) -> tuple[dict, dict]:
    def read(name):
        p = target / name
        return json.loads(p.read_text()) if p.exists() else {}
    results = read("run_results.json")
    before_fit = read("run_results_before_fit.json")
    if before_fit and results:
        # PostgreSQL and Spark: `build` is dbt up to the CLV fit, the fit, then dbt on the rest.
        results = {**results, "results": before_fit["results"] + results["results"],
                   "elapsed_time": (before_fit.get("elapsed_time") or 0) + (results.get("elapsed_time") or 0)}
        (target / "run_results_before_fit.json").unlink()
    return read("manifest.json"), results


def run_summary(run_results: dict) -> dict:
    res = run_results.get("results", [])
    bad = [r["unique_id"] for r in res if r.get("status") in ("error", "fail", "runtime error")]
    skipped = [r["unique_id"] for r in res if r.get("status") == "skipped"]
    models = [(r["unique_id"].split(".")[-1], r.get("execution_time") or 0.0) for r in res
              if r["unique_id"].startswith("model.") and r.get("status") == "success"]
    models.sort(key=lambda x: -x[1])
    return {"dbt_elapsed": round(run_results.get("elapsed_time") or 0.0, 2), "failed": bad,
            "skipped": len(skipped), "models_built": len(models),
            "top_models": [[n, round(s, 2)] for n, s in models[:10]]}


def duckdb_settings(threads: int) -> dict[str, str]:
    """The `settings` profiles.yml gives DuckDB (SET per connection), from the same environment."""
    return {
        "TimeZone": "UTC",
        "threads": str(threads),
        "memory_limit": os.environ.get("LIFECYCLE_DUCKDB_MEMORY_LIMIT", "12GB"),
        "preserve_insertion_order": os.environ.get("LIFECYCLE_DUCKDB_PRESERVE_INSERTION_ORDER", "false"),
    }


def raw_floor(work: Path, manifest: dict, run_results: dict, threads: int) -> dict:
    built = working_path(work / "lifecycle.duckdb")  # every model (the published file: the marts)
    floor_dir = work / "raw_floor"
    shutil.rmtree(floor_dir, ignore_errors=True)
    floor_dir.mkdir(parents=True)
    copy = floor_dir / built.name           # same file name: compiled SQL names the catalog after it
    t0 = time.perf_counter()
    shutil.copyfile(built, copy)
    copy_s = time.perf_counter() - t0
    ok = {r["unique_id"]: r.get("execution_time") or 0.0 for r in run_results.get("results", [])
          if r["unique_id"].startswith("model.") and r.get("status") == "success"}
    nodes = {uid: n for uid, n in manifest.get("nodes", {}).items()
             if uid in ok and n.get("config", {}).get("materialized") != "ephemeral"}
    deps = {uid: [d for d in n.get("depends_on", {}).get("nodes", []) if d in nodes] for uid, n in nodes.items()}
    settings = duckdb_settings(threads)
    # temp_directory at connect time, as profiles.yml's config_options (it cannot be SET again)
    con = duckdb.connect(str(copy), config={"temp_directory": str(floor_dir / (built.name + ".tmp"))})
    con.execute(f"ATTACH '{built}' AS dbt_built (READ_ONLY)")
    times: dict[str, float] = {}
    errors: dict[str, str] = {}
    copied: list[str] = []

    def run_one(uid: str) -> tuple[str, float]:
        n = nodes[uid]
        cur = con.cursor()
        for k, v in settings.items():
            cur.execute(f"SET {k} = '{v}'")
        rel = n["relation_name"]
        if n.get("language") == "python":
            sql = f'create or replace table {rel} as select * from dbt_built."{n["schema"]}"."{n.get("alias") or n["name"]}"'
            copied.append(n["name"])
        else:
            body = (n.get("compiled_code") or "").strip().rstrip(";")
            kind = "view" if n["config"].get("materialized") == "view" else "table"
            sql = f"create or replace {kind} {rel} as (\n{body}\n)"
        t = time.perf_counter()
        cur.execute(sql)
        cur.close()
        return uid, time.perf_counter() - t

    pending = dict(deps)
    done: set[str] = set()
    failed: set[str] = set()
    running = {}
    t_all = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        while pending or running:
            ready = [u for u, d in pending.items() if all(x in done for x in d)]
            blocked = [u for u, d in pending.items() if any(x in failed for x in d)]
            for u in blocked:
                failed.add(u)
                errors[u] = "upstream failed"
                del pending[u]
            for u in ready:
                if u in pending:
                    running[pool.submit(run_one, u)] = u
                    del pending[u]
            if not running:
                if pending and not ready and not blocked:
                    raise RuntimeError(f"dependency cycle among {sorted(pending)[:5]}")
                continue
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                u = running.pop(fut)
                try:
                    _, secs = fut.result()
                    times[u] = secs
                    done.add(u)
                except Exception as err:  # noqa: BLE001 - reported, dependents skipped
                    failed.add(u)
                    errors[u] = str(err).splitlines()[0][:300]
    wall = time.perf_counter() - t_all
    con.close()
    shutil.rmtree(floor_dir, ignore_errors=True)
    python_models = {uid for uid, n in nodes.items() if n.get("language") == "python"}
    common = [u for u in times if u not in python_models]
    raw_sum = sum(times[u] for u in common)
    dbt_sum = sum(ok[u] for u in common)
    if errors:
        print(f"  raw floor: {len(errors)} models not run: " + "; ".join(
            f"{u.split('.')[-1]}: {e}" for u, e in list(errors.items())[:5]), flush=True)
    out = {"models": len(common), "raw_seconds_sum": round(raw_sum, 2), "raw_wall": round(wall, 2),
           "dbt_seconds_sum": round(dbt_sum, 2), "dbt_over_raw": round(dbt_sum / raw_sum, 3) if raw_sum else None,
           "copied_python_models": copied, "errors": {u.split(".")[-1]: e for u, e in errors.items()},
           "db_copy_seconds": round(copy_s, 1)}
    print(f"  raw floor: {raw_sum:.1f} s over {len(common)} models (dbt {dbt_sum:.1f} s): "
          f"dbt/raw {out['dbt_over_raw']}", flush=True)
    return out


# --------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------
def cli_has_full_refresh() -> bool:
    r = subprocess.run([PY, "-m", "customer_lifecycle", "build", "--help"], cwd=REPO, capture_output=True, text=True)
    return "--full-refresh" in r.stdout


def base_env(work: Path, threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "LIFECYCLE_THREADS": str(threads),
                "DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs"),
                "LIFECYCLE_DATA_DIR": "", "LIFECYCLE_RAW_SCHEMA": ""})
    return env


def incremental_after_delta(data: Path, build: list[str], env: dict[str, str], work: Path) -> dict:
    """`build` after the one-day delta, measured; the delta is undone afterwards."""
    try:
        delta = write_delta(data)
        inc = run_measured(build, env, work / "incremental.log")
        inc.update(run_summary(load_artifacts(work / "target")[1]))
        inc["delta"] = delta
        return inc
    finally:
        reset_delta(data)


def warehouse_bytes(db: Path) -> dict:
    """The published file and the working file beside it (customer_lifecycle.publish), in bytes."""
    working = working_path(db)
    sizes = {"published_bytes": db.stat().st_size if db.exists() else None,
             "working_bytes": working.stat().st_size if working.exists() else None}
    sizes["db_bytes"] = sum(v for v in sizes.values() if v) or None
    return sizes


def fresh_database(db: Path) -> None:
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    shutil.rmtree(db.with_name(db.name + ".tmp"), ignore_errors=True)
    shutil.rmtree(working_path(db).parent, ignore_errors=True)


def bench_duckdb(name: str, data: Path, work: Path, threads: int, full_refresh: bool, raw: bool = True,
                 story_days: int = 0) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    db = work / "lifecycle.duckdb"
    env = base_env(work, threads)
    env.update({"LIFECYCLE_TARGET": "duckdb", "LIFECYCLE_DATA_DIR": str(data), "LIFECYCLE_DUCKDB_PATH": str(db)})
    reset_delta(data)
    fresh_database(db)
    build = [PY, "-m", "customer_lifecycle", "build", "--vars", PINNED_VARS]
    print(f"[{name}/duckdb] full build", flush=True)
    full = run_measured(build + (["--full-refresh"] if full_refresh else []), env, work / "full.log")
    full["mode"] = "build --full-refresh on a new file" if full_refresh else "build on a new file (no --full-refresh in the CLI)"
    manifest, rr = load_artifacts(work / "target")
    full.update(run_summary(rr))
    result = {"full": full, **warehouse_bytes(db)}
    for f in ("manifest.json", "run_results.json"):
        if (work / "target" / f).exists():
            shutil.copyfile(work / "target" / f, work / f"full-{f}")
    if raw:
        print(f"[{name}/duckdb] raw-SQL floor", flush=True)
    result["raw_floor"] = raw_floor(work, manifest, rr, threads) if raw and working_path(db).exists() and manifest else None
    print(f"[{name}/duckdb] incremental run after a one-day delta", flush=True)
    result["incremental"] = incremental_after_delta(data, build, env, work)
    result["db_bytes_after_incremental"] = warehouse_bytes(db)["db_bytes"]
    if story_days:
        print(f"[{name}/duckdb] a daily story of {story_days} days", flush=True)
        result["story"] = daily_story(data, build, env, work, story_days)
    return result


def daily_story(data: Path, build: list[str], env: dict[str, str], work: Path, days: int) -> dict:
    """`days` daily runs, each after one more day of data (write_delta: a new part file per table,
    late orders, an order file rewritten with status changes), each measured with the warehouse's
    size after it; then a full refresh of the same files into a new database, which the last
    day's size and every day's time are compared with. The deltas are undone afterwards."""
    db = Path(env["LIFECYCLE_DUCKDB_PATH"])
    story = {"days": []}
    try:
        for day in range(1, days + 1):
            delta = write_delta(data, seed=day, day=day)
            log = work / f"story-day{day:02d}.log"
            run = run_measured(build, env, log)
            run.update(run_summary(load_artifacts(work / "target")[1]))
            run.update({"delta": delta, **warehouse_bytes(db),
                        "compacted": "Compacted the working file" in log.read_text(errors="replace")})
            story["days"].append(run)
        fresh_db = work / "fresh" / db.name
        fresh_db.parent.mkdir(exist_ok=True)
        fresh_database(fresh_db)
        print("  a full refresh of the same files into a new database", flush=True)
        fresh = run_measured(build + ["--full-refresh"], {**env, "LIFECYCLE_DUCKDB_PATH": str(fresh_db)},
                             work / "story-fresh.log")
        fresh.update(warehouse_bytes(fresh_db))
        story["fresh"] = fresh
        shutil.rmtree(fresh_db.parent, ignore_errors=True)
    finally:
        reset_delta(data)
    return story


def bench_previous(ref: str, name: str, data: Path, work: Path, threads: int) -> dict:
    """The full build and one daily run (day 1 of the story) of the project at git ref `ref` (the
    previous design), on the same data in the same session, in a git worktree of its own."""
    tree = work / "previous"
    if not (tree / ".git").exists():
        shutil.rmtree(tree, ignore_errors=True)
        subprocess.run(["git", "worktree", "add", "--force", "--detach", str(tree), ref], cwd=REPO, check=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, check=True, capture_output=True,
                            text=True).stdout.strip()
    db = work / "previous-db" / "lifecycle.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    fresh_database(db)
    env = base_env(work / "previous-db", threads)
    env.update({"LIFECYCLE_TARGET": "duckdb", "LIFECYCLE_DATA_DIR": str(data), "LIFECYCLE_DUCKDB_PATH": str(db)})
    build = [PY, "-m", "customer_lifecycle", "build", "--vars", PINNED_VARS]
    reset_delta(data)
    print(f"[{name}/duckdb] the previous design ({ref}, {commit}): full build", flush=True)
    full = run_measured(build + ["--full-refresh"], env, work / "previous-full.log", cwd=tree)
    sizes = warehouse_bytes(db)
    try:
        write_delta(data, seed=1, day=1)
        print(f"[{name}/duckdb] the previous design: daily run (day 1 of the story)", flush=True)
        daily = run_measured(build, env, work / "previous-daily.log", cwd=tree)
    finally:
        reset_delta(data)
    shutil.rmtree(db.parent, ignore_errors=True)
    return {"ref": ref, "commit": commit, "full": full, "daily": daily, **sizes}


def bench_postgres(name: str, data: Path, work: Path, threads: int, full_refresh: bool) -> dict:
    import psycopg2  # noqa: F401 - fail early when missing

    from customer_lifecycle.loader import load_into_postgres
    from customer_lifecycle.pgserver import ThrowawayPostgres

    work.mkdir(parents=True, exist_ok=True)
    reset_delta(data)
    pg = ThrowawayPostgres()
    server = pg.__enter__()
    try:
        postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        env = base_env(work, threads)
        env.update(server.env(schema="bench"))
        raw_schema = "bench_raw_files"
        env["LIFECYCLE_RAW_SCHEMA"] = raw_schema

        def load() -> float:
            t = time.perf_counter()
            conn = server.connect()
            try:
                load_into_postgres(data, conn, raw_schema)
            finally:
                conn.close()
            return round(time.perf_counter() - t, 2)

        print(f"[{name}/postgres] loading the files", flush=True)
        load_s = load()
        build = [PY, "-m", "customer_lifecycle", "build", "--vars", PINNED_VARS]
        print(f"[{name}/postgres] full build (build: dbt, the CLV fit, dbt)", flush=True)
        full = run_measured(build + (["--full-refresh"] if full_refresh else []), env, work / "full.log",
                            extra_roots=[postmaster], pss=True)
        full.update(run_summary(load_artifacts(work / "target")[1]))
        full["load_seconds"] = load_s
        full["mode"] = "load-files, then build (with the CLV fit) on new schemas"
        conn = server.connect()
        with conn.cursor() as cur:
            cur.execute("select pg_database_size(current_database())")
            size = cur.fetchone()[0]
        conn.close()
        result = {"full": full, "db_bytes": size, "raw_floor": None}
        print(f"[{name}/postgres] incremental run after a one-day delta", flush=True)
        try:
            delta = write_delta(data)
            reload_s = load()
            inc = run_measured(build, env, work / "incremental.log", extra_roots=[postmaster], pss=True)
            inc.update(run_summary(load_artifacts(work / "target")[1]))
            inc["reload_seconds"] = reload_s
            inc["delta"] = delta
            result["incremental"] = inc
        finally:
            reset_delta(data)
        return result
    finally:
        pg.__exit__(None, None, None)


def bench_spark(name: str, data: Path, work: Path, threads: int, full_refresh: bool, incremental: bool = True) -> dict:
    """Spark local (session method) on the same files, read in place: full build, then incremental."""
    work.mkdir(parents=True, exist_ok=True)
    warehouse, metastore = work / "spark-warehouse", work / "metastore_db"
    env = base_env(work, threads)
    env.update({"LIFECYCLE_TARGET": "spark", "LIFECYCLE_DATA_DIR": str(data), "SPARK_LOCAL_IP": "127.0.0.1",
                "LIFECYCLE_SPARK_WAREHOUSE": str(warehouse), "LIFECYCLE_SPARK_METASTORE": str(metastore)})
    env.setdefault("LIFECYCLE_SPARK_DRIVER_MEMORY", "12g")
    env.setdefault("LIFECYCLE_SPARK_SHUFFLE_PARTITIONS", "16")
    reset_delta(data)
    for path in (warehouse, metastore):
        shutil.rmtree(path, ignore_errors=True)
    build = [PY, "-m", "customer_lifecycle", "build", "--vars", PINNED_VARS]
    print(f"[{name}/spark] full build", flush=True)
    full = run_measured(build + ["--full-refresh"], env, work / "full.log")
    full["mode"] = (f"build --full-refresh on a new warehouse (driver memory {env['LIFECYCLE_SPARK_DRIVER_MEMORY']}, "
                    f"{env['LIFECYCLE_SPARK_SHUFFLE_PARTITIONS']} shuffle partitions)")
    full.update(run_summary(load_artifacts(work / "target")[1]))
    result = {"full": full, "db_bytes": dir_bytes(warehouse) if warehouse.exists() else None, "raw_floor": None}
    if incremental:
        print(f"[{name}/spark] incremental run after a one-day delta", flush=True)
        result["incremental"] = incremental_after_delta(data, build, env, work)
    return result


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def commit() -> str:
    """The commit of the project measured (its short hash, with + when the tree has changes)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/results",
                            ":!BENCHMARKS.md"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    return head + ("+" if dirty else "")


def machine() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    from importlib.metadata import version
    return {"nproc": os.cpu_count(), "memory_gib": round(mem / GIB, 1), "cpu": cpu or platform.processor(),
            "python": platform.python_version(), "duckdb": duckdb.__version__,
            "dbt_core": version("dbt-core"), "dbt_duckdb": version("dbt-duckdb")}


def _num(x, fmt="{:.1f}"):
    return "" if x is None else fmt.format(x)


def _mark(ok) -> str:
    return "" if ok is None else ("met" if ok else "NOT met")


def goals(results: list[dict]) -> list[tuple[str, str, str, str]]:
    by = {(r["preset"], r["engine"]): r for r in results}
    rows = []
    r10, r100 = by.get(("10m", "duckdb")), by.get(("100m", "duckdb"))
    f10 = r10 and r10["full"]["returncode"] == 0 and r10["full"]["seconds"]
    rows.append(("full build at 10M (DuckDB)", f"<= {GOALS['full_10m_s']:.0f} s", _num(f10) + " s" if f10 else "",
                 _mark(f10 <= GOALS["full_10m_s"] if f10 else None)))
    inc = r10 and r10.get("incremental") and r10["incremental"]["returncode"] == 0 and r10["incremental"]["seconds"]
    share = inc / f10 if inc and f10 else None
    rows.append(("incremental / full at 10M", f"<= {GOALS['incremental_share_10m']:.0%}",
                 _num(share and 100 * share) + " %" if share else "",
                 _mark(share <= GOALS["incremental_share_10m"] if share else None)))
    ratios = [(r["preset"], r["raw_floor"]["dbt_over_raw"]) for r in results
              if r.get("raw_floor") and r["raw_floor"].get("dbt_over_raw")]
    # judged on 10M and 100M when they were run (on small stores dbt's fixed cost per model dominates)
    judged = [x for x in ratios if x[0] in ("10m", "100m")] or ratios
    worst = max(judged, key=lambda x: x[1]) if judged else None
    rows.append(("dbt / raw SQL (DuckDB, worst of 10M and 100M)", f"<= {GOALS['dbt_over_raw']}",
                 f"{worst[1]:.2f} ({worst[0]})" if worst else "", _mark(worst[1] <= GOALS["dbt_over_raw"] if worst else None)))
    rss = r100 and r100["full"]["peak_rss_gib"]
    rows.append(("peak memory at 100M", f"<= {GOALS['peak_rss_100m_gib']:.0f} GiB", _num(rss, "{:.2f}") + " GiB" if rss else "",
                 _mark(rss <= GOALS["peak_rss_100m_gib"] if rss else None)))
    f100 = r100 and r100["full"]["returncode"] == 0 and r100["full"]["seconds"]
    sc = f100 / f10 if f100 and f10 else None
    rows.append(("t(100M) / t(10M), full builds", f"<= {GOALS['scaling_100m_over_10m']:.0f}", _num(sc, "{:.2f}") if sc else "",
                 _mark(sc <= GOALS["scaling_100m_over_10m"] if sc else None)))
    daily = {preset: story_figures(r) for (preset, engine), r in by.items() if engine == "duckdb" and r.get("story")}
    for preset, goal in (("10m", "daily_share_10m"), ("100m", "daily_share_100m")):
        share = (daily.get(preset) or {}).get("mean_share")
        rows.append((f"mean daily run / full build at {preset.upper()} (story)", f"<= {GOALS[goal]:.0%}",
                     _num(share and 100 * share) + " %" if share else "not run", _mark(share <= GOALS[goal] if share else None)))
    d10, d100 = ((daily.get(p) or {}).get("mean_seconds") for p in ("10m", "100m"))
    ratio = d100 / d10 if d10 and d100 else None
    rows.append(("t_daily(100M) / t_daily(10M)", f"<= {GOALS['daily_100m_over_10m']:.0f}",
                 _num(ratio, "{:.2f}") if ratio else "not run", _mark(ratio <= GOALS["daily_100m_over_10m"] if ratio else None)))
    size = [(p, f["size_ratio"], f["days"]) for p, f in daily.items() if f.get("size_ratio") and f["days"] >= 30]
    rows.append(("working file after 30 daily runs / a fresh build's", f"<= {GOALS['working_file_after_30_days']}",
                 "; ".join(f"{x:.2f} ({p}, {n} days)" for p, x, n in size) or "not run",
                 _mark(all(x <= GOALS["working_file_after_30_days"] for _, x, _ in size) if size else None)))
    for (preset, engine), r in sorted(by.items()):
        prev = r.get("previous")
        if prev and prev["full"]["returncode"] == 0 and r["full"]["returncode"] == 0:
            x = r["full"]["seconds"] / prev["full"]["seconds"]
            rows.append((f"full build / the previous design's ({preset}, {prev['commit']})", "<= 1",
                         f"{x:.2f}", _mark(x <= 1.0)))
    return rows


def story_figures(r: dict) -> dict:
    """Mean daily time and share of the full build, and the last day's working file over the fresh
    build's, of a result with a daily story."""
    days = [d for d in r["story"]["days"] if d["returncode"] == 0]
    fresh = r["story"].get("fresh") or {}
    full_s = fresh.get("seconds") if fresh.get("returncode") == 0 else r["full"]["seconds"]
    mean = sum(d["seconds"] for d in days) / len(days) if days else None
    last = r["story"]["days"][-1] if r["story"]["days"] else {}
    size_ratio = (last["working_bytes"] / fresh["working_bytes"]
                  if last.get("working_bytes") and fresh.get("working_bytes") else None)
    return {"days": len(r["story"]["days"]), "mean_seconds": mean, "full_seconds": full_s,
            "mean_share": mean / full_s if mean and full_s else None, "size_ratio": size_ratio}


def render_stories(results: list[dict]) -> list[str]:
    """One table per daily story: each day's delta, time, share of the full build, memory and sizes."""
    L = []
    for r in results:
        if not r.get("story"):
            continue
        fig, fresh = story_figures(r), r["story"].get("fresh") or {}
        L += [f"**{r['preset']} / {r['engine']}**: {fig['days']} daily runs; the full refresh of the same files "
              f"afterwards took {_num(fresh.get('seconds'))} s (load {fresh.get('load_avg_mean')}) and left a working file "
              f"of {_num((fresh.get('working_bytes') or 0) / 2**20, '{:,.0f}')} MiB and a published file of "
              f"{_num((fresh.get('published_bytes') or 0) / 2**20, '{:,.0f}')} MiB. Mean daily run "
              f"{_num(fig['mean_seconds'])} s = {_num(fig['mean_share'] and 100 * fig['mean_share'])} % of it; the last "
              f"day's working file is {_num(fig['size_ratio'], '{:.2f}')}x its size.", "",
              "| day | new events / orders (late) / status changes | s | share of full | peak GiB | working MiB | published MiB | compacted | load |",
              "|---:|---|---:|---:|---:|---:|---:|---|---|"]
        for i, d in enumerate(r["story"]["days"], 1):
            dl = d.get("delta") or {}
            share = d["seconds"] / fig["full_seconds"] if fig["full_seconds"] else None
            L.append(f"| {i} | {dl.get('events')} / {dl.get('orders')} ({dl.get('late_orders')}) / {dl.get('status_changes')} | "
                     f"{_num(d['seconds'])}{'' if d['returncode'] == 0 else ' (failed)'} | {_num(share and 100 * share, '{:.1f} %')} | "
                     f"{_num(d.get('peak_rss_gib'), '{:.2f}')} | {_num((d.get('working_bytes') or 0) / 2**20, '{:,.0f}')} | "
                     f"{_num((d.get('published_bytes') or 0) / 2**20, '{:,.0f}')} | {'yes' if d.get('compacted') else ''} | "
                     f"{d.get('load_avg_mean')} / {d.get('load_avg_max')} |")
        L.append("")
        prev = r.get("previous")
        if prev:
            L += [f"The previous design ({prev['ref']}, {prev['commit']}) on the same data in the same session: full "
                  f"build {_num(prev['full']['seconds'])} s (this design {_num(r['full']['seconds'])} s), daily run "
                  f"(day 1) {_num(prev['daily']['seconds'])} s (this design {_num(r['story']['days'][0]['seconds'])} s), "
                  f"one file of {_num((prev.get('db_bytes') or 0) / 2**20, '{:,.0f}')} MiB after the full build "
                  f"(this design: working {_num((r.get('working_bytes') or 0) / 2**20, '{:,.0f}')} MiB + published "
                  f"{_num((r.get('published_bytes') or 0) / 2**20, '{:,.0f}')} MiB).", ""]
    return L


def render(results_dir: Path, report: Path) -> str:
    results = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    results.sort(key=lambda r: (r.get("events") or 0, r["engine"]))
    L = ["# Build benchmarks", "",
         "Written by `benchmarks/bench_build.py` (`make bench`) from `benchmarks/results/*.json`; a preset",
         "not run again keeps its earlier row. Full build: `python -m customer_lifecycle build --full-refresh`",
         "on a new database; incremental: `build` after a one-day delta (new events and orders on the day",
         "after the last, a late order in the first month, status changes of existing orders); dbt/raw: dbt's",
         "model execution times over the same models' compiled SQL run directly (`create or replace table ...",
         "as`, same DuckDB settings and concurrency); peak memory: the build's process tree (and the",
         "PostgreSQL server's); load: the 1-minute load average during the full build (the machine is shared).",
         "", "## Results", "",
         "| preset | engine | events | full build s | incremental s | incremental / full | dbt / raw | peak memory GiB | database / input size | load (mean / max) | status |",
         "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in results:
        f, inc, rf = r["full"], r.get("incremental") or {}, r.get("raw_floor") or {}
        share = inc.get("seconds") / f["seconds"] if inc.get("seconds") and f.get("seconds") else None
        status = []
        if f["returncode"] != 0:
            status.append(f"full build failed ({len(f.get('failed', []))} nodes)")
        if inc and inc.get("returncode") != 0:
            status.append("incremental failed")
        if rf.get("errors"):
            status.append(f"raw floor: {len(rf['errors'])} models not run")
        peak = max(f.get("peak_rss_gib") or 0, inc.get("peak_rss_gib") or 0)
        ratio = r["db_bytes"] / r["input_bytes"] if r.get("db_bytes") and r.get("input_bytes") else None
        L.append(f"| {r['preset']} | {r['engine']} | {r.get('events', 0):,} | {_num(f.get('seconds'))} | "
                 f"{_num(inc.get('seconds')) if inc else 'not run'} | {_num(share and 100 * share, '{:.1f} %')} | {_num(rf.get('dbt_over_raw'), '{:.2f}')} | "
                 f"{_num(peak, '{:.2f}')} | {_num(ratio, '{:.2f}')} | {f.get('load_avg_mean')} / {f.get('load_avg_max')} | "
                 f"{'; '.join(status) or 'ok'} |")
    stories = render_stories(results)
    if stories:
        L += ["", "## Daily stories", "",
              "`--story-days N`: after the full build, N daily runs, each after one more day of data (a new part",
              "file per table, late orders in the first month, an order file rewritten with status changes), then a",
              "full refresh of the same files into a new database. Sizes: the published file (the marts) and the",
              "working file (every model) beside it.", ""] + stories
    L += ["", "## Goals", "", "| goal | target | measured | |", "|---|---|---|---|"]
    L += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in goals(results)]
    L += ["", "## Runs", "",
          "| preset | engine | date | machine | DuckDB / dbt-core / dbt-duckdb | threads | data | details |",
          "|---|---|---|---|---|---|---|---|"]
    for r in results:
        m, f, inc, rf = r["machine"], r["full"], r.get("incremental") or {}, r.get("raw_floor") or {}
        details = [f"dbt elapsed {f.get('dbt_elapsed')} s", f"{f.get('models_built')} models"]
        if f.get("fit_clv_seconds") is not None:  # runs from before `build` fitted by itself
            details.append(f"load-files {f['load_seconds']} s, build {f.get('build_seconds')} s, fit-clv {f.get('fit_clv_seconds')} s")
        elif f.get("load_seconds") is not None:
            details.append(f"load-files {f['load_seconds']} s")
        if f.get("mode") and r["engine"] == "spark":
            details.append(f["mode"])
        if rf:
            details.append(f"raw {rf.get('raw_seconds_sum')} s vs dbt {rf.get('dbt_seconds_sum')} s over {rf.get('models')} models")
        if inc.get("delta"):
            d = inc["delta"]
            details.append(f"delta {d['events']} events, {d['orders']} orders ({d['late_orders']} late), "
                           f"{d['status_changes']} status changes")
        if inc.get("load_avg_mean") is not None:
            details.append(f"incremental load {inc['load_avg_mean']} / {inc['load_avg_max']}")
        gen = r.get("generator", {})
        if r.get("note"):
            details.append(r["note"])
        L.append(f"| {r['preset']} | {r['engine']} | {r['date']}{' (' + r['commit'] + ')' if r.get('commit') else ''} | {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB | "
                 f"{m['duckdb']} / {m['dbt_core']} / {m['dbt_duckdb']} | {r.get('threads')} | "
                 f"`{gen.get('preset')}` customers {gen.get('customers') or 'default'}, seed {gen.get('seed')}, "
                 f"{(r.get('input_bytes') or 0) / 2**20:,.0f} MiB | {'; '.join(details)} |")
    L += ["", "## Slowest models (full build, dbt execution time)", ""]
    for r in results:
        top = r["full"].get("top_models") or []
        if not top:
            continue
        L += [f"**{r['preset']} / {r['engine']}**", "", "| model | s |", "|---|---:|"]
        L += [f"| {n} | {s:.1f} |" for n, s in top]
        L.append("")
    text = "\n".join(L).rstrip() + "\n"
    report.write_text(text)
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="1m,10m,100m", help="comma separated: 1m, 10m, 100m or NAME=PRESET[:CUSTOMERS]")
    ap.add_argument("--engines", default="duckdb", help="duckdb[,postgres][,spark]")
    ap.add_argument("--data-root", default=str(Path(tempfile.gettempdir()) / "lifecycle-bench"),
                    help="generated data and work databases (reused when present)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("LIFECYCLE_THREADS", "2")))
    ap.add_argument("--results-dir", default=str(REPO / "benchmarks" / "results"))
    ap.add_argument("--report", default=str(REPO / "BENCHMARKS.md"))
    ap.add_argument("--no-incremental", action="store_true",
                    help="Spark: the full build only (a Spark run of the 10M preset costs tens of minutes)")
    ap.add_argument("--no-raw-floor", action="store_true",
                    help="skip the raw-SQL floor (it costs about as long as the full build itself)")
    ap.add_argument("--story-days", type=int, default=0,
                    help="DuckDB: after the incremental run, a daily story of this many days (each a new day of "
                         "data and a build), then a full refresh of the same files to compare with")
    ap.add_argument("--previous", metavar="GIT_REF",
                    help="DuckDB: also a full build and one daily run of the project at GIT_REF (the previous "
                         "design), on the same data, in a git worktree")
    args = ap.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if set(engines) - {"duckdb", "postgres", "spark"}:
        ap.error("engines: duckdb, postgres, spark")
    root, results_dir = Path(args.data_root), Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    full_refresh = cli_has_full_refresh()
    if not full_refresh:
        print("python -m customer_lifecycle build has no --full-refresh: full builds run on a deleted DuckDB file")
    info = machine()
    for name, (preset, customers) in parse_presets(args.presets).items():
        data, gen = ensure_data(root, name, preset, customers, args.seed)
        gt = json.loads((data / "ground_truth.json").read_text())
        for engine in engines:
            work = root / name / engine
            if engine == "duckdb":
                res = bench_duckdb(name, data, work, args.threads, full_refresh, raw=not args.no_raw_floor,
                                   story_days=args.story_days)
                if args.previous:
                    res["previous"] = bench_previous(args.previous, name, data, work, args.threads)
            elif engine == "spark":
                res = bench_spark(name, data, work, args.threads, full_refresh, incremental=not args.no_incremental)
            else:
                res = bench_postgres(name, data, work, args.threads, full_refresh)
            res.update({"preset": name, "engine": engine, "events": gt["realised"]["rows"].get("events", 0),
                        "rows": gt["realised"]["rows"], "input_bytes": dir_bytes(data),
                        "generator": {"preset": preset, "customers": customers, "seed": args.seed,
                                      "run": gen},
                        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                        "machine": info, "threads": args.threads, "commit": commit(),
                        "duckdb_memory_limit": os.environ.get("LIFECYCLE_DUCKDB_MEMORY_LIMIT", "12GB")})
            out = results_dir / f"{name}-{engine}.json"
            out.write_text(json.dumps(res, indent=1) + "\n")
            print(f"[{name}/{engine}] wrote {out}", flush=True)
    text = render(results_dir, Path(args.report))
    print()
    print(text[text.index("## Results"):text.index("## Runs")])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The dashboard (customer_lifecycle/dashboard) in a real headless browser.

The dashboard is started the user's way (`python -m customer_lifecycle dashboard --port N`) on a
build's warehouse and driven with Chromium through selenium: every page renders its charts
without an error, and the figures it shows equal the marts' values, computed here with this test's
own SQL (often on another mart than the one the page reads). Screenshots of every page are saved
under the test's tmp_path.

Chromium and chromedriver (Debian packages chromium, chromium-driver) are required under CI
(CI=true) or with LIFECYCLE_REQUIRE_BROWSER=1; elsewhere the tests skip without them.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from customer_lifecycle.dashboard import data

from .harness import PROJECT_DIR, Build

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
STARTUP_TIMEOUT = 60
RENDER_TIMEOUT = 60

# url path -> (page title, plotly charts the page draws on the demo build without filters)
PAGES = {
    "/": ("Lifecycle stages", 2),
    "/flows": ("Stage flows", 2),
    "/funnel": ("Funnel drop-off", 3),
    "/retention": ("Retention and churn", 2),
    "/value": ("Customer value", 3),
    "/kpis": ("Monthly KPIs", 2),
}


def browser_required() -> bool:
    return os.environ.get("LIFECYCLE_REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true"


def require_browser() -> None:
    """Skip when Chromium or chromedriver is missing; under CI fail instead."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        reason = f"no {' and no '.join(missing)} (Debian packages chromium, chromium-driver)"
        if browser_required():
            pytest.fail(f"A browser is required here (CI / LIFECYCLE_REQUIRE_BROWSER=1): {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one for the module, tall enough to render a whole page."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,2600"):
        options.add_argument(argument)
    options.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(build: Build, log_path: Path):
    """The dashboard on a free loopback port with the build's environment; yields its base URL."""
    port = _free_port()
    env = {**os.environ, **build.env}
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "customer_lifecycle", "dashboard", "--port", str(port)],
                                  cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert server.poll() is None, f"the dashboard exited ({server.returncode}):\n{log_path.read_text()}"
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"the dashboard did not answer on {url}:\n{log_path.read_text()}"
            time.sleep(0.3)
        assert f"Dashboard: {url}" in log_path.read_text().splitlines()[0]
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait(condition, what: str, timeout: float = RENDER_TIMEOUT):
    """Poll `condition` until it is true; an element replaced while it was read (Streamlit redraws
    a page on every run) counts as not yet."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except StaleElementReferenceException:
            result = False
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def _rendered(driver, title: str, charts: int) -> bool:
    """The page's script finished (no running status), its title is shown and `charts` plotly charts
    have drawn their svg."""
    from selenium.webdriver.common.by import By

    if driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'):
        return False
    if title not in [h.text for h in driver.find_elements(By.CSS_SELECTOR, "h1")]:
        return False
    plots = driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")
    return len(plots) >= charts and all(p.find_elements(By.CSS_SELECTOR, "svg.main-svg") for p in plots)


def assert_no_error(driver, where: str) -> None:
    """No exception, error or warning box, and no dialog (e.g. Streamlit's 'Page not found')."""
    from selenium.webdriver.common.by import By

    for selector in ('[data-testid="stException"]', '[data-testid="stAlertContentError"]',
                     '[data-testid="stAlertContentWarning"]', '[role="dialog"]'):
        shown = [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]
        assert not shown, f"{where}: {selector} shown: {shown}"


def open_page(driver, url: str, title: str, charts: int, screenshot: Path) -> dict[str, str]:
    """Open a page, wait until it has rendered, screenshot it, check it shows no error and exactly
    `charts` charts; return its metrics (label -> shown value)."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    _wait(lambda: _rendered(driver, title, charts), f"{url} to render {charts} charts")
    time.sleep(0.5)  # a last rerun or late element would show now
    _wait(lambda: _rendered(driver, title, charts), f"{url} to settle")
    driver.save_screenshot(str(screenshot))
    assert_no_error(driver, url)
    assert len(driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) == charts, url
    return shown_metrics(driver)


def shown_metrics(driver) -> dict[str, str]:
    from selenium.webdriver.common.by import By

    return {m.find_element(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]').text:
            m.find_element(By.CSS_SELECTOR, '[data-testid="stMetricValue"]').text
            for m in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]')}


def number(shown: str) -> Decimal:
    """A shown figure as a number: '24,388.15' -> 24388.15, '10.2%' -> 10.2."""
    assert re.fullmatch(r"-?[0-9,]+(\.[0-9]+)?%?", shown), f"not a figure: {shown!r}"
    return Decimal(shown.replace(",", "").rstrip("%"))


def cents(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def shows_rate(shown: str, rate) -> bool:
    """Whether a shown percentage with one decimal is the rate (a share 0..1 in the marts)."""
    return shown.endswith("%") and abs(number(shown) - Decimal(str(rate)) * 100) <= Decimal("0.05")


def _scalar(b: Build, sql: str):
    return b.query(sql)[0][0]


@pytest.fixture(scope="module")
def demo(demo_builds):
    return demo_builds("duckdb")


@pytest.fixture(scope="module")
def demo_url(demo, tmp_path_factory):
    with serving(demo, tmp_path_factory.mktemp("dashboard") / "dashboard.log") as url:
        yield url


def test_the_dashboard_reads_only_published_marts():
    """Every mart the dashboard reads is published (macros/publish/publishing.sql published_marts(),
    plus fct_build_record, which publish_marts copies with them)."""
    macro = (PROJECT_DIR / "macros" / "publish" / "publishing.sql").read_text()
    body = re.search(r"macro published_marts\(\).*?endmacro", macro, re.S).group(0)
    published = set(re.findall(r"'(\w+)'", body)) | {"fct_build_record"}
    assert set(data.MARTS) <= published, set(data.MARTS) - published


def test_every_page_renders_and_shows_the_marts_figures(browser, demo, demo_url, tmp_path):
    shown = {path: open_page(browser, demo_url + path, title, charts, tmp_path / f"{path.strip('/') or 'stages'}.png")
             for path, (title, charts) in PAGES.items()}

    # Stages: persons per stage at the end of the last month, which is as_of_date: the open spells
    # of fct_lifecycle_stage_history (the page reads fct_lifecycle_stage_monthly).
    current = dict(demo.query("select stage, count(*) from {{ fct_lifecycle_stage_history }} "
                              "where is_current group by stage"))
    assert {s: number(shown["/"][s]) for s in data.STAGES} == {s: current.get(s, 0) for s in data.STAGES}

    # Flows: win-backs are moves out of churned; each starts a spell flagged is_reactivation.
    win_backs = _scalar(demo, "select count(*) from {{ fct_lifecycle_stage_history }} where is_reactivation")
    assert win_backs > 0
    assert number(shown["/flows"]["Win-backs"]) == win_backs

    # Funnel: entries of the (only) demo funnel = step-1 entries of fct_funnel_steps.
    entries = _scalar(demo, "select sum(entries) from {{ fct_funnel_steps }} where step_number = 1")
    assert number(shown["/funnel"]["Entries"]) == entries

    # Retention: the latest month's churn (fct_churn_monthly).
    churned, churn_rate = demo.query("select churned_customers, churn_rate from {{ fct_churn_monthly }} "
                                     "order by churn_month desc limit 1")[0]
    assert number(shown["/retention"]["Churned customers"]) == churned
    assert shows_rate(shown["/retention"]["Churn rate"], churn_rate), (shown["/retention"], churn_rate)

    # Value: customers with a valid order (dim_customers), the customers fct_customer_clv scores.
    buyers = _scalar(demo, "select count(*) from {{ dim_customers }} where first_valid_order_date is not null")
    assert number(shown["/value"]["Customers"]) == buyers

    # KPIs: the latest month's net revenue and valid orders (fct_kpis_monthly).
    net_revenue, orders = demo.query("select net_revenue, valid_orders from {{ fct_kpis_monthly }} "
                                     "order by kpi_month desc limit 1")[0]
    assert number(shown["/kpis"]["Net revenue"]) == cents(net_revenue)
    assert number(shown["/kpis"]["Valid orders"]) == orders


def test_the_filters_change_the_figures(browser, demo, demo_url, tmp_path):
    months = [m for (m,) in demo.query("select kpi_month from {{ fct_kpis_monthly }} order by kpi_month")]
    first, last = months[2], months[5]
    # The busiest entry channel, so that the filtered count is far from both 0 and the total.
    channel = _scalar(demo, "select channel from {{ fct_funnel_sessions }} group by channel "
                            "order by count(*) desc, channel limit 1")

    # Months and channel from the address: entries of fct_funnel_sessions filtered the same way.
    url = f"{demo_url}/funnel?from={first:%Y-%m}&to={last:%Y-%m}&channel={channel}"
    shown = open_page(browser, url, "Funnel drop-off", 3, tmp_path / "funnel-filtered.png")
    filtered = _scalar(demo, f"select count(*) from {{{{ fct_funnel_sessions }}}} where channel = '{channel}' "
                             f"and entry_date >= '{first}' and entry_date < '{months[6]}'")
    everything = _scalar(demo, "select count(*) from {{ fct_funnel_sessions }}")
    assert 0 < filtered < everything
    assert number(shown["Entries"]) == filtered

    # The channel chosen in the sidebar's select box: all months, that channel only.
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(browser, f"{demo_url}/funnel", "Funnel drop-off", 3, tmp_path / "funnel.png")
    select = browser.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"] [data-testid="stSelectbox"] input')
    select.click()
    select.send_keys(channel, Keys.ENTER)
    of_channel = _scalar(demo, f"select count(*) from {{{{ fct_funnel_sessions }}}} where channel = '{channel}'")
    _wait(lambda: shown_metrics(browser).get("Entries") == f"{of_channel:,}", f"the entries of channel {channel}")
    assert_no_error(browser, "funnel after choosing a channel")

    # An earlier end month: the KPIs shown are that month's.
    shown = open_page(browser, f"{demo_url}/kpis?to={first:%Y-%m}", "Monthly KPIs", 2, tmp_path / "kpis-filtered.png")
    net_revenue = _scalar(demo, f"select net_revenue from {{{{ fct_kpis_monthly }}}} where kpi_month = '{first}'")
    assert number(shown["Net revenue"]) == cents(net_revenue)


def test_the_dashboard_reads_postgresql(browser, tiny_builds, tmp_path):
    require_browser()
    b = tiny_builds("postgres")
    # The month of the tiny fixture with the most net revenue, chosen as the end of the range, so
    # that the figure is not 0 and the month filter reaches PostgreSQL as a query parameter.
    month, net_revenue = b.query(f"select kpi_month, net_revenue from {b.published_relation('fct_kpis_monthly')} "
                                 "order by net_revenue desc, kpi_month limit 1")[0]
    assert Decimal(net_revenue) > 0
    with serving(b, tmp_path / "dashboard.log") as url:
        shown = open_page(browser, f"{url}/kpis?to={month:%Y-%m}", "Monthly KPIs", 2, tmp_path / "kpis-postgres.png")
        assert number(shown["Net revenue"]) == cents(net_revenue)
        assert "PostgreSQL" in browser.find_element("css selector", '[data-testid="stSidebar"]').text

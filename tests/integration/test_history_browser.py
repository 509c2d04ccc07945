"""Both pages opened as a person meets them: Debian's headless Chromium (Playwright for Python,
``executable_path``; no downloaded browser) opens each from ``file://``. A test fails on any
request beyond the page's own file, any console error or page error, a cell without its
charts, a point without its commit link, a filter that does not narrow, or a permalink that
does not survive a reload. Each page's screenshot is kept under ``$RNNBENCH_ARTIFACTS`` (else
pytest's tmp folder) and its path printed."""

import os
import re
from pathlib import Path

import pytest

from rnn_models.history.write import write_history
from rnn_models.history.page import cells_of
from rnn_models.history.rundata import run_data
from rnn_models.history.runpage import write_run_page
from tests.history_fixtures import ROOT, verdicts

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("RNNBENCH_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL = ("no browser: `apt-get update && apt-get install -y chromium` and `pip install -e \".[test]\"` "
           "(Playwright for Python; never `playwright install`)")
REMOTE = "https://github.com/example/rnnbench.git"


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(INSTALL)
    if not CHROMIUM.exists():
        pytest.skip(INSTALL)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts(tmp_path):
    folder = Path(os.environ.get("RNNBENCH_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Visit:
    """A page opened from ``file://``, recording every request beyond it and every error."""

    def __init__(self, browser, path):
        self.url = path.resolve().as_uri()
        self.problems = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console error: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("request", self._request)
        self.page.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())  # nothing leaves
        self.page.goto(self.url)

    def _request(self, request):
        if request.url.split("#")[0] != self.url:
            self.problems.append(f"request beyond the page: {request.url}")

    def visible(self, selector):
        return self.page.locator(selector).evaluate_all("els => els.filter(e => e.offsetParent !== null).length")

    def shot(self, path):
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")


def test_history_page_in_a_browser(browser, tmp_path, artifacts):
    page_path, doc = write_history(ROOT / "baselines", tmp_path / "history", remote=REMOTE)
    visit = Visit(browser, page_path)
    page, cells = visit.page, cells_of(doc)
    for cell in cells:  # each cell's charts: speed per phase, accuracy, and the two learning curves
        expected = (2 * any(p["cell"] == cell for p in doc["speed"])
                    + 3 * any(p["cell"] == cell for p in doc["accuracy"]))
        assert page.locator(f"#cell-{cell} svg.chart").count() == expected, cell
    links = page.locator(".pt").evaluate_all(
        "els => els.map(e => [e.tagName, e.getAttribute('href'), e.getAttribute('data-commit')])")
    assert len(links) == len(doc["speed"]) + len(doc["accuracy"])
    assert all(tag == "a" and href == f"https://github.com/example/rnnbench/commit/{sha}" for tag, href, sha in links)

    assert visit.visible("section.cell") == len(cells) > 1
    page.select_option("#cell-filter", "gru")
    assert visit.visible("section.cell") == 1 and visit.visible("#cell-gru") == 1
    assert visit.visible("table.changes tbody tr") == visit.visible("table.changes tbody tr[data-cell=gru]")
    earlier = page.locator("#cell-gru select.vs option").nth(2).get_attribute("value")
    page.select_option("#cell-gru select.vs", earlier)
    assert f"vs-gru={earlier}" in page.url and "cell=gru" in page.url

    page.reload()
    assert page.input_value("#cell-filter") == "gru" and visit.visible("section.cell") == 1
    assert page.input_value("#cell-gru select.vs") == earlier
    shown = page.locator("#cell-gru g.earlier").evaluate_all(
        "els => els.filter(g => g.style.display !== 'none').map(g => g.getAttribute('data-commit'))")
    assert shown == [earlier, earlier]  # the loss and the accuracy chart
    visit.shot(artifacts / "history.png")
    assert visit.problems == []


def test_history_page_served_over_http(browser, tmp_path):
    """Served (as a CI artifact viewer or a static host would), it asks for nothing more."""
    import functools
    import http.server
    import threading

    page_path, doc = write_history(ROOT / "baselines", tmp_path / "site", remote=REMOTE)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(page_path.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        problems, page = [], browser.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("request", lambda r: r.url.split("#")[0] != url and problems.append(f"request: {r.url}"))
        page.goto(url + "#cell=lstm")
        assert page.locator("section.cell").evaluate_all("els => els.filter(e => !e.hidden).length") == 1
        assert page.locator("#cell-lstm svg.chart").count() == 5
        page.close()
    finally:
        server.shutdown()
        server.server_close()
    assert problems == []


def test_run_page_in_a_browser(browser, tmp_path, artifacts):
    page_path = write_run_page(tmp_path / "run.html", run_data(**verdicts(failing=True)))
    visit = Visit(browser, page_path)
    page = visit.page
    banner = page.locator("#verdict")
    assert banner.is_visible() and banner.inner_text().startswith("FAILED")
    assert "speed: lstm train CPU:0 slower" in banner.inner_text()
    assert page.locator("#speed svg.chart").count() == 1 and page.locator("#accuracy svg.chart").count() == 1
    for cell in ("gru", "lstm"):
        assert page.locator(f'#curves [data-cell="{cell}"] svg.chart').count() == 2, cell

    rows = visit.visible("#speed tbody tr")
    page.select_option("#cell-filter", "lstm")
    assert visit.visible("#speed tbody tr") == 2 < rows
    assert visit.visible("#curves [data-cell]") == 1 and visit.visible("#accuracy [data-cell]") == 1
    page.reload()
    assert page.input_value("#cell-filter") == "lstm" and visit.visible("#speed tbody tr") == 2
    page.select_option("#cell-filter", "")
    visit.shot(artifacts / "run.png")
    assert visit.problems == []


def test_the_watch_sees_a_request_beyond_the_page_and_an_error(browser, tmp_path):
    """The checks above can fail: a page that loads an image from elsewhere and logs an error."""
    page = tmp_path / "bad.html"
    page.write_text('<img src="http://127.0.0.1:9/x.png"><img src="sibling.png">'
                    '<script>console.error("boom")</script>')
    problems = Visit(browser, page).problems
    assert "request beyond the page: http://127.0.0.1:9/x.png" in problems
    assert any(p.endswith("/sibling.png") for p in problems)
    assert any(p.startswith("console error: boom") for p in problems)

"""The history page (``python -m rnn_models history``): its data from git, the page's HTML and
inline JSON, commit links, machine kinds and version marks, its size, and bad inputs. No
browser (tests/test_history_browser.py opens the pages in one)."""

import json
import re
import shutil
from html.parser import HTMLParser

import pytest

from rnn_models.commands import main
from rnn_models.history import svg
from rnn_models.history.collect import SCHEMA_VERSION, collect
from rnn_models.history.write import write_history
from rnn_models.history.forge import commit_url_template
from rnn_models.history.page import changes, render
from tests.history_fixtures import ROOT, git, make_repo

SIZE_LIMIT = 1_500_000  # the bound on today's history page, bytes


class _Scripts(HTMLParser):
    """The page's inline JSON blocks by id, and its external references (src, link href)."""

    def __init__(self):
        super().__init__()
        self.json, self.external, self._id = {}, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._id = attrs.get("id") if tag == "script" and attrs.get("type") == "application/json" else None
        url = attrs.get("src") or (attrs.get("href") if tag == "link" else None)
        if url and not url.startswith("data:"):
            self.external.append(url)

    def handle_data(self, data):
        if self._id:
            self.json[self._id] = json.loads(data)
            self._id = None


def parse(html):
    parser = _Scripts()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """This repository's own history page, with a GitHub remote for the links."""
    out = tmp_path_factory.mktemp("history")
    page, doc = write_history(ROOT / "baselines", out, remote="https://github.com/example/rnnbench.git")
    return page, doc


@pytest.mark.parametrize("remote, expected", [
    ("https://github.com/o/r.git", "https://github.com/o/r/commit/{sha}"),
    ("git@github.com:o/r.git", "https://github.com/o/r/commit/{sha}"),
    ("ssh://git@github.com/o/r", "https://github.com/o/r/commit/{sha}"),
    ("ssh://git@gitlab.com:22/group/sub/r.git", "https://gitlab.com/group/sub/r/-/commit/{sha}"),
    ("https://bitbucket.org/o/r", "https://bitbucket.org/o/r/commits/{sha}"),
    ("https://git.example.org/o/r.git", None),  # not a known forge: the sha is shown
    ("/srv/git/r.git", None),
    ("", None),
])
def test_commit_links_come_from_known_forges_only(remote, expected):
    assert commit_url_template(remote) == expected


def test_history_holds_every_baseline_commit_with_intervals(real):
    page, doc = real
    log = git(ROOT, "log", "--format=%H", "--", "baselines/gru.json").split()
    ids = [c["id"] for c in doc["commits"]]
    assert doc["schema_version"] == SCHEMA_VERSION and doc["skipped"] == [] and doc["notice"] is None
    assert set(log) <= set(ids)  # every commit that changed a cell's file is a point of gru's
    assert {p["commit"] for p in doc["accuracy"] if p["cell"] == "gru"} == set(log)
    assert all(p["q1_s"] <= p["median_s"] <= p["q3_s"] for p in doc["speed"])
    newest = [p for p in doc["accuracy"] if p["commit"] == log[0] and p["cell"] == "gru"][0]
    assert len(newest["seeds"]) == 10 and newest["low"] < newest["mean"] < newest["high"]
    assert all(p["kind"] != "unknown machine" for p in doc["speed"])
    stored = json.loads((page.parent / "history.json").read_text())
    assert stored == parse(page.read_text()).json["history-data"]


def test_page_is_one_offline_file_under_the_size_bound(real):
    page, doc = real
    html = page.read_text()
    assert len(html.encode()) < SIZE_LIMIT
    assert parse(html).external == []  # no script src, no stylesheet link
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//(?!github\.com/example/)""", html)
    assert "@import" not in html and "url(" not in html and "fetch(" not in html
    for cell in ("gru", "lstm", "basic_rnn", "basic_lstm", "ln_basic_lstm"):
        section = html.split(f'id="cell-{cell}"')[1].split("</section>")[0]
        assert section.count("<svg") == 5, cell  # train, inference, accuracy, two learning curves


def test_each_point_links_its_commit_and_names_kind_and_versions(real):
    page, doc = real
    html = page.read_text()
    points = re.findall(r'<a href="([^"]+)" target="_blank" class="pt" data-commit="([0-9a-f]{40})">', html)
    assert len(points) == len(doc["speed"]) + len(doc["accuracy"])
    assert all(url == f"https://github.com/example/rnnbench/commit/{sha}" for url, sha in points)
    newest = doc["speed"][-1]
    versions = f"TF {newest['versions']['tensorflow']} / Keras {newest['versions']['keras']}"
    assert f"machine: {newest['kind']}; {versions}" in html


def test_without_a_forge_the_sha_is_shown(tmp_path):
    repo = make_repo(tmp_path, remote=None)
    doc = collect(repo / "baselines")
    html = render(doc)
    assert doc["commit_url"] is None and 'class="pt"' in html and "<a href" not in html.split("</table>")[-1]
    assert all(f"commit {c['id']}" in html for c in doc["commits"])


def test_kinds_are_never_joined_and_version_changes_are_marked(tmp_path):
    points = [{"x": x, "y": 1.0 + x, "low": 0.5, "high": 2.0, "kind": kind, "tip": "t", "url": None,
               "commit": str(x), "mark": "TF 2.22.0 / Keras 3.15.1" if x == 2 else None}
              for x, kind in ((0, "a"), (1, "a"), (2, "b"), (3, "b"))]
    chart = svg.point_chart("t", [(str(x), str(x)) for x in range(4)], points, "y", str, ["a", "b"])
    lines = re.findall(r'<polyline points="([^"]+)"[^>]*data-kind="(\w)"', chart)
    assert [(len(p.split()), kind) for p, kind in lines] == [(2, "a"), (2, "b")]
    assert chart.count('class="version-mark"') == 1
    doc = collect(make_repo(tmp_path) / "baselines")
    html = render(doc)
    gru_train = html.split('class="title">gru: train step time')[1].split("</svg>")[0]
    assert gru_train.count('class="version-mark"') == 1 and "TF 2.22.0 / Keras 3.15.1" in gru_train


def test_changes_table_is_sorted_by_size_and_readable_without_script(tmp_path):
    doc = collect(make_repo(tmp_path) / "baselines")
    rows = changes(doc)
    sizes = [abs(r[4]) for r in rows]
    assert sizes == sorted(sizes, reverse=True)
    speed = [r for r in rows if "step" in r[1]]
    assert speed and all(r[4] == pytest.approx(0.1) for r in speed)  # each commit made every step 10% slower
    accuracy = [r for r in rows if r[0] == "gru" and r[1] == "mean test accuracy"][0]
    assert accuracy[4] < 0  # a seed's last accuracy lowered
    table = render(doc).split('<section id="changes">')[1].split("</section>")[0]
    assert "<script" not in table and "+10.0%" in table


def test_inline_json_escapes_closing_tags(tmp_path):
    doc = collect(make_repo(tmp_path) / "baselines")
    doc["commits"][0]["subject"] = "</script><script>alert(1)</script>"
    html = render(doc)
    block = html.split('id="history-data">')[1].split("</script>")[0]
    assert "</" not in block and json.loads(block)["commits"][0]["subject"].startswith("</script>")


def test_a_file_that_does_not_parse_is_listed_as_skipped(tmp_path):
    repo = make_repo(tmp_path)
    (repo / "baselines" / "gru.json").write_text('{"cell": "gru", "config": {}, "curves": ')
    git(repo, "commit", "-qam", "a truncated baseline")
    out = tmp_path / "out"
    assert main(["history", "--baselines", str(repo / "baselines"), "--out", str(out)]) == 0
    doc = json.loads((out / "history.json").read_text())
    assert [s["path"] for s in doc["skipped"]] == ["baselines/gru.json"]
    assert "Expecting value" in doc["skipped"][0]["reason"]
    html = (out / "index.html").read_text()
    assert "Skipped files (1)" in html and "a truncated baseline" not in html.split("Skipped")[0]
    assert len(doc["accuracy"]) == 3  # the three good commits are still drawn


def test_a_cell_file_of_the_wrong_shape_is_skipped_with_the_reason(tmp_path):
    repo = make_repo(tmp_path)
    (repo / "baselines" / "gru.json").write_text('{"cell": "gru", "config": {}}')
    git(repo, "commit", "-qam", "a baseline without curves")
    doc = collect(repo / "baselines")
    assert [(s["path"], s["reason"]) for s in doc["skipped"]] == [("baselines/gru.json", "cell baseline: no 'curves'")]


def test_a_folder_outside_git_gives_the_current_baselines_only(tmp_path, capsys):
    folder = tmp_path / "plain"
    shutil.copytree(ROOT / "baselines", folder)
    out = tmp_path / "out"
    assert main(["history", "--baselines", str(folder), "--out", str(out)]) == 0
    doc = json.loads((out / "history.json").read_text())
    assert [c["id"] for c in doc["commits"]] == ["current"] and "not in a git checkout" in doc["notice"]
    assert {p["cell"] for p in doc["accuracy"]} == {"gru", "lstm", "basic_rnn", "basic_lstm", "ln_basic_lstm"}
    assert "not in a git checkout" in (out / "index.html").read_text()
    assert "not in a git checkout" in capsys.readouterr().out


def test_a_missing_run_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["history", "--out", str(tmp_path / "out"), "--runs", str(tmp_path / "nope.json")]) == 2
    assert capsys.readouterr().err == f"rnn_models history: error: --runs {tmp_path / 'nope.json'}: no such file\n"
    assert not (tmp_path / "out").exists()


def test_an_unwritable_out_is_one_line_and_exit_2_with_nothing_written(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("keep")
    assert main(["history", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("rnn_models history: error: --out")
    assert blocker.read_text() == "keep" and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_saved_runs_are_added_after_the_commits(tmp_path):
    from rnn_models.history.rundata import run_data
    from rnn_models.history.runpage import write_run_page
    from tests.history_fixtures import run_result, verdicts

    repo = make_repo(tmp_path)
    page = write_run_page(tmp_path / "run.html", run_data(**verdicts()))
    result = tmp_path / "gru-seed3.json"
    result.write_text(json.dumps(run_result("gru", 3)))
    speed = repo / "baselines" / "benchmarks" / "Linux-CPython-3.11-64bit" / "0003_baseline.json"
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    doc = collect(repo / "baselines", [page.with_suffix(".json"), result, speed, bad])
    runs = [c["id"] for c in doc["commits"] if c.get("run")]
    assert runs == ["run:run.json", "run:gru-seed3.json", "run:0003_baseline.json", "run:bad.json"]
    assert {p["cell"] for p in doc["accuracy"] if p["commit"] == "run:run.json"} == {"gru", "lstm"}
    assert [p["seeds"] for p in doc["accuracy"] if p["commit"] == "run:gru-seed3.json"][0][0][0] == 3
    assert any(p["commit"] == "run:0003_baseline.json" for p in doc["speed"])
    assert [s["commit"] for s in doc["skipped"]] == ["run:bad.json"]

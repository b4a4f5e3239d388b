"""The HTML report, rendered from the results of a real quickstart run (Wasmtime and Node,
one divergent case) plus a hostile case whose names and output try to inject markup.

Structure is checked with `html.parser`; the page itself in headless Chromium: a screenshot
whose outcome colours are counted, and the DOM after its script ran (filters, the per-case
view with its diff).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import RunCli
from wasitest.config import Settings
from wasitest.errors import ExitCode
from wasitest.model import Outcome, Result
from wasitest.plugin import load_registry
from wasitest.plugins.reporters.html import CODES, COLOURS, render_html, write_html
from wasitest.results import ResultsDocument, load_results
from wasitest.runplan import RunSummary

DIVERGENT = ("unit/files", "excl_create_refuses_dangling_symlink")
HOSTILE_ARTIFACT = 'unit/<img src=x onerror="alert(0)">'
HOSTILE_CASE = "<script>alert(1)</script>"
HOSTILE_STDOUT = "</script><script>alert(2)</script>\n<!-- & \u2028 -->\n"
HOSTILE_MESSAGE = "<b onmouseover=alert(3)>boom</b> &amp; \x00\x1b[31m red"


def _hostile(cell: str, outcome: Outcome, stdout: str, message: str = "") -> Result:
    return Result(
        HOSTILE_ARTIFACT,
        HOSTILE_CASE,
        cell,
        outcome,
        message=message,
        exit_code=0 if not message else 1,
        duration_s=0.01,
        stdout=stdout,
        stderr=message,
    )


@pytest.fixture
def document(quickstart_run: tuple[Path, subprocess.CompletedProcess[str]]) -> ResultsDocument:
    """The real run's document, with a hostile case that diverges on Node."""
    project, proc = quickstart_run
    assert proc.returncode == 1, proc.stderr
    doc = load_results(project / "results.json")
    doc.results.append(_hostile("wasmtime", Outcome.PASSED, HOSTILE_STDOUT))
    doc.results.append(_hostile("node", Outcome.FAILED, "other\n" + HOSTILE_STDOUT, HOSTILE_MESSAGE))
    doc.recompute_divergences()
    return doc


@dataclass
class Page(HTMLParser):
    """What the tests look at in a rendered page."""

    tags: Counter[str] = field(default_factory=Counter)
    scripts: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    #: matrix rows: id -> (artifact, case name, tr classes, [td classes])
    rows: dict[str, tuple[str, str, list[str], list[list[str]]]] = field(default_factory=dict)
    cells: list[str] = field(default_factory=list)
    hidden_rows: set[str] = field(default_factory=set)
    attrs_seen: list[tuple[str, str, str]] = field(default_factory=list)
    dialog_open: bool = False
    dialog_text: list[str] = field(default_factory=list)
    diff_lines: list[tuple[str, str]] = field(default_factory=list)
    form_hidden: bool = True

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._stack: list[str] = []
        self._script: tuple[str, list[str]] | None = None
        self._in_matrix = self._in_head = self._in_dialog = self._in_row_th = False
        self._artifact = self._row = ""
        self._text: list[str] | None = None
        self._diff_cls: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags[tag] += 1
        self.attrs_seen.extend((tag, k, v) for k, v in a.items())
        classes = a.get("class", "").split()
        if tag == "script":
            self._script = (a.get("type", ""), [])
        if tag == "form" and a.get("id") == "filters":
            self.form_hidden = "hidden" in a
        if tag == "table" and a.get("id") == "matrix":
            self._in_matrix = True
        if tag == "dialog":
            self._in_dialog, self.dialog_open = True, "open" in a
        if self._in_dialog and tag == "span" and self._stack and self._stack[-1] == "pre":
            self._diff_cls, self._text = a.get("class", ""), []
        if not self._in_matrix:
            self._stack.append(tag)
            return
        if tag == "thead":
            self._in_head = True
        elif tag == "th" and self._in_head and "cellhead" in classes:
            self._text = []
        elif tag == "tr" and "group" in classes:
            self._row = ""
        elif tag == "tr" and a.get("id"):
            self._row = a["id"]
            self.rows[self._row] = (self._artifact, "", classes, [])
            if "hidden" in a:
                self.hidden_rows.add(self._row)
        elif tag == "th" and not self._in_head:
            self._text = []
            self._in_row_th = True
        elif tag == "td" and self._row:
            self.rows[self._row][3].append(classes)
        self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._stack:
            self._stack.pop()
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None
        if tag == "dialog":
            self._in_dialog = False
        if tag == "span" and self._diff_cls is not None and self._text is not None:
            self.diff_lines.append((self._diff_cls, "".join(self._text)))
            self._diff_cls, self._text = None, None
        if not self._in_matrix:
            return
        if tag == "thead":
            self._in_head = False
        elif tag == "th" and self._in_head and self._text is not None:
            self.cells.append("".join(self._text))
            self._text = None
        elif tag == "th" and self._in_row_th and self._text is not None:
            text = "".join(self._text)
            if self._row:
                artifact, _, classes, tds = self.rows[self._row]
                self.rows[self._row] = (artifact, text.rstrip("≠"), classes, tds)
            else:
                self._artifact = text
            self._text, self._in_row_th = None, False
        elif tag == "table":
            self._in_matrix = False

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script[1].append(data)
        if self._text is not None:
            self._text.append(data)
        if self._in_dialog:
            self.dialog_text.append(data)

    def row_of(self, artifact: str, case: str) -> tuple[str, list[str], list[list[str]]]:
        (found,) = [(i, cls, tds) for i, (a, c, cls, tds) in self.rows.items() if (a, c) == (artifact, case)]
        return found


def _parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def test_every_result_is_in_the_matrix(document: ResultsDocument) -> None:
    page = _parse(render_html(document))
    assert page.cells == ["wasmtime", "node"]
    cases = {(r.artifact, r.case) for r in document.results}
    assert len(page.rows) == len(cases) == 15
    for result in document.results:
        _, _, tds = page.row_of(result.artifact, result.case)
        assert len(tds) == 2
        assert tds[page.cells.index(result.cell)][0] == CODES[result.outcome][0], result.job_id


def test_divergent_rows_are_marked(document: ResultsDocument) -> None:
    page = _parse(render_html(document))
    divergent = {(d.artifact, d.case) for d in document.divergences}
    assert divergent == {DIVERGENT, (HOSTILE_ARTIFACT, HOSTILE_CASE)}
    for artifact, case, classes, _ in page.rows.values():
        assert ("dv" in classes) == ((artifact, case) in divergent), case
    _, classes, tds = page.row_of(*DIVERGENT)
    assert tds[0] == ["ps"]  # wasmtime passes
    assert tds[1] == ["fa", "df"]  # node fails, and is the differing cell


def test_hostile_names_and_output_stay_text(document: ResultsDocument) -> None:
    text = render_html(document)
    page = _parse(text)
    # only the report's own two scripts, no element or handler from the test's data
    assert [kind for kind, _ in page.scripts] == ["application/json", ""]
    assert page.tags["img"] == 0 and page.tags["b"] == 0 and page.tags["script"] == 2
    assert not [a for a in page.attrs_seen if a[1].startswith("on") and a[1] != "onsubmit"]
    assert "\x00" not in text and "\x1b" not in text
    # shown as text where it belongs, and carried exactly in the embedded data
    page.row_of(HOSTILE_ARTIFACT, HOSTILE_CASE)
    data = json.loads(page.scripts[0][1])
    (case,) = [c for c in data["cases"] if c["n"] == HOSTILE_CASE]
    assert case["a"] == HOSTILE_ARTIFACT
    assert case["r"][0]["out"] == HOSTILE_STDOUT and case["r"][1]["m"] == HOSTILE_MESSAGE
    assert "</" not in page.scripts[0][1]
    (stdout_diff,) = [d for d in case["df"] if d["s"] == "stdout"]
    assert "+other" in stdout_diff["u"].splitlines()


def test_reporter_plugin_writes_at_run_end(document: ResultsDocument, tmp_path: Path) -> None:
    factory = load_registry().reporters["html"]
    assert factory(Settings(project_dir=tmp_path)) is None  # not asked for
    reporter = factory(Settings(project_dir=tmp_path, extra={"html": str(tmp_path / "out" / "report.html")}))
    reporter.wasitest_run_end(summary=RunSummary(document, ExitCode.TESTS_FAILED))
    assert (tmp_path / "out" / "report.html").read_text(encoding="utf-8") == render_html(document)


def test_report_command_writes_html(
    quickstart_run: tuple[Path, subprocess.CompletedProcess[str]], run_cli: RunCli, tmp_path: Path
) -> None:
    project, _ = quickstart_run
    proc = run_cli("report", str(project / "results.json"), "--html", str(tmp_path / "r.html"), "-q")
    assert proc.returncode == 1, proc.stderr  # the run it reports on failed
    page = _parse((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "dv" in page.row_of(*DIVERGENT)[1]


CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")


def _chromium(tmp_path: Path, url: str, *args: str) -> str:
    assert CHROMIUM is not None
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@needs_chromium
def test_screenshot_shows_the_matrix(document: ResultsDocument, tmp_path: Path) -> None:
    from PIL import Image

    report = tmp_path / "report.html"
    write_html(document, report)
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, report.as_uri(), f"--screenshot={shot}", "--window-size=1280,1600")
    image = Image.open(shot).convert("RGB")
    pixels = {colour: count for count, colour in image.getcolors(image.width * image.height) or []}
    green, red = pixels[_rgb(COLOURS[Outcome.PASSED][0])], pixels[_rgb(COLOURS[Outcome.FAILED][0])]
    yellow = pixels[_rgb(COLOURS[Outcome.SKIPPED][0])]
    passed = sum(r.outcome is Outcome.PASSED for r in document.results)
    failed = sum(r.outcome is Outcome.FAILED for r in document.results)
    assert (passed, failed) == (24, 2)
    # every job is an equal table cell and the summary bars are proportional, so the areas
    # follow the counts; the red verdict badge, the chips and the differing cell's ring blur
    # that (measured: 7.7 for 24 passed to 2 failed)
    assert red > 2000 and yellow > 2000, (green, red, yellow)
    assert 0.5 * passed / failed < green / red < 1.5 * passed / failed, (green, red)


@needs_chromium
def test_case_view_and_filters_run_in_the_browser(document: ResultsDocument, tmp_path: Path) -> None:
    text = render_html(document)
    page = _parse(text)
    row, _, _ = page.row_of(*DIVERGENT)
    hostile, _, _ = page.row_of(HOSTILE_ARTIFACT, HOSTILE_CASE)
    # the filter the way a reader sets it: "divergent only", then the report's own listeners
    driven = text.replace(
        "</body>",
        '<script>var f=document.getElementById("filters");f.elements.dv.value="div";'
        'f.dispatchEvent(new Event("change"));</script></body>',
    )
    report = tmp_path / "report.html"
    report.write_text(driven, encoding="utf-8")
    dom = _parse(_chromium(tmp_path, report.as_uri() + f"#{hostile}", "--dump-dom"))
    assert not dom.form_hidden  # the script ran
    assert set(dom.rows) - dom.hidden_rows == {row, hostile}
    # the per-case view of the hostile case: open, its output as text, the diff rendered
    assert dom.dialog_open
    shown = "".join(dom.dialog_text)
    assert HOSTILE_ARTIFACT + "::" + HOSTILE_CASE in shown and "alert(2)" in shown
    assert dom.tags["img"] == 0 and dom.tags["script"] == 3  # the report's two, the test's one
    assert ("a", "+other") in dom.diff_lines
    assert ("d", "-</script><script>alert(2)</script>") not in dom.diff_lines  # same in both: context
    assert ("h", "--- wasmtime stdout") in dom.diff_lines


def test_outcome_colours_cover_every_outcome() -> None:
    assert set(CODES) == set(Outcome) == set(COLOURS)
    assert len({code for code, _ in CODES.values()}) == len(Outcome)
    assert all(re.fullmatch("[a-z]{2}", code) for code, _ in CODES.values())

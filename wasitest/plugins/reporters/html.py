"""A self-contained HTML report, rendered from the results document.

One file, no network: inline CSS and a little inline JS. The summary, the divergences and
the cases-by-cells matrix (a heat map, one short table cell per job) are plain HTML, readable
with JS disabled. Every job's full record (output, message, exit code, trap) is embedded
once as JSON and turned into a per-case view (`#cN`, a dialog) only when asked for, which
keeps a report of 10,000 cases compact. Line diffs of outputs between cells are computed
here with difflib, for divergent cases only.

Test output and names are untrusted: HTML text and attributes go through `html.escape`,
the embedded JSON has `<`, `>` and `&` as `\\u` escapes (nothing in it can close the
`<script>`), and the JS builds the per-case view with `textContent`, never `innerHTML`.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wasitest.config import Settings
from wasitest.diff import Divergence
from wasitest.model import Outcome, Result
from wasitest.options import OptionParser
from wasitest.plugin import hookimpl
from wasitest.results import ResultsDocument, write_text_atomically

#: short CSS class per outcome (one per table cell, so kept short), and the cell's label
CODES: dict[Outcome, tuple[str, str]] = {
    Outcome.PASSED: ("ps", "pass"),
    Outcome.FAILED: ("fa", "FAIL"),
    Outcome.TRAPPED: ("tr", "TRAP"),
    Outcome.XPASSED: ("xp", "XPASS"),
    Outcome.TIMEOUT: ("to", "TIME"),
    Outcome.CRASHED: ("cr", "CRASH"),
    Outcome.ERROR: ("er", "ERROR"),
    Outcome.FLAKY: ("fl", "flaky"),
    Outcome.SKIPPED: ("sk", "skip"),
    Outcome.XFAILED: ("xf", "xfail"),
    Outcome.UNSUPPORTED: ("un", "n/a"),
}
#: fill colours, the console's (reporters/console.py STYLES) as solid colours; the same in
#: light and dark mode so that a cell means one thing everywhere
COLOURS: dict[Outcome, tuple[str, str]] = {  # (background, text)
    Outcome.PASSED: ("#2da44e", "#ffffff"),
    Outcome.FAILED: ("#d1242f", "#ffffff"),
    Outcome.TRAPPED: ("#d1242f", "#ffffff"),
    Outcome.XPASSED: ("#d1242f", "#ffffff"),
    Outcome.TIMEOUT: ("#a626a4", "#ffffff"),
    Outcome.CRASHED: ("#7d0a1f", "#ffffff"),
    Outcome.ERROR: ("#7d0a1f", "#ffffff"),
    Outcome.FLAKY: ("#f0883e", "#1f2328"),
    Outcome.SKIPPED: ("#e3b341", "#1f2328"),
    Outcome.XFAILED: ("#e3b341", "#1f2328"),
    Outcome.UNSUPPORTED: ("#8c959f", "#ffffff"),
}
#: divergences listed as rows above the matrix: the first ones open, the rest folded, up to
#: the maximum (the matrix's filter shows every one)
OPEN_DIVERGENCES = 20
MAX_LISTED_DIVERGENCES = 500
#: lines of each output fed to difflib, and lines of diff kept, per pair of cells
DIFF_INPUT_LINES = 2000
DIFF_OUTPUT_LINES = 400

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(text: str) -> str:
    """Lone surrogates (undecodable output) cannot be written as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def _e(text: object) -> str:
    """Escape for HTML text and quoted attributes; control characters made visible."""
    clean = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", _scrub(str(text)))
    return html.escape(clean, quote=True)


def _first_line(text: str, limit: int = 200) -> str:
    return text.strip().splitlines()[0][:limit] if text.strip() else ""


def _when(stamp: str) -> str:
    """`2026-01-02T03:04:05+00:00` as `2026-01-02 03:04:05 UTC`; anything else as it is."""
    return stamp.replace("T", " ", 1).replace("+00:00", " UTC")


@dataclass
class _Case:
    artifact: str
    name: str
    #: cell id -> result (the last one when a journal holds several)
    results: dict[str, Result] = field(default_factory=dict)
    divergence: Divergence | None = None

    @property
    def id(self) -> str:
        return f"{self.artifact}::{self.name}"


def _cases(document: ResultsDocument) -> list[_Case]:
    """Cases in the order the document first names them, each with its divergence."""
    cases: dict[tuple[str, str], _Case] = {}
    for result in document.results:
        key = (result.artifact, result.case)
        case = cases.get(key)
        if case is None:
            case = cases[key] = _Case(result.artifact, result.case)
        case.results[result.cell] = result
    for divergence in document.divergences:
        found = cases.get((divergence.artifact, divergence.case))
        if found is not None:
            found.divergence = divergence
    return list(cases.values())


def _cell_ids(document: ResultsDocument) -> list[str]:
    ids = [c.id for c in document.cells]
    for result in document.results:
        if result.cell not in ids:
            ids.append(result.cell)
    return ids


# ---- the embedded data for the per-case view ---------------------------------------------


#: an outcome's value by outcome (an enum's `.value` is slow, and a report reads it per result)
_VALUES = {o: o.value for o in Outcome}


def _result_json(result: Result) -> dict[str, Any]:
    """A result for the per-case view; members that are empty, false or None left out
    (most of a passing result: a report of 200,000 results builds 200,000 of these)."""
    data: dict[str, Any] = {"o": _VALUES[result.outcome], "s": round(result.duration_s, 4)}
    if result.exit_code:  # a clean exit (0) is not shown
        data["x"] = result.exit_code
    for key, value in (("t", result.trap), ("m", result.message), ("out", result.stdout), ("err", result.stderr),
                       ("e", result.expectation)):
        if value:
            data[key] = value
    if result.stdout_truncated:
        data["ot"] = True
    if result.stderr_truncated:
        data["et"] = True
    if result.attempts:
        data["at"] = [dict(a) for a in result.attempts]
    if result.file:
        data["f"] = f"{result.file}:{result.line}" if result.line else result.file
    return data


def _line_diff(a: str, b: str, name_a: str, name_b: str) -> tuple[str, bool]:
    """A unified diff of two outputs, bounded in input and output size."""
    left, right = a.splitlines()[:DIFF_INPUT_LINES], b.splitlines()[:DIFF_INPUT_LINES]
    lines = list(difflib.unified_diff(left, right, name_a, name_b, lineterm="", n=2))
    cut = (
        len(lines) > DIFF_OUTPUT_LINES
        or len(a.splitlines()) > DIFF_INPUT_LINES
        or len(b.splitlines()) > DIFF_INPUT_LINES
    )
    return "\n".join(lines[:DIFF_OUTPUT_LINES]), cut


def _diffs(case: _Case, cells: list[str]) -> list[dict[str, Any]]:
    """For a divergent case: each differing cell's stdout and stderr against a reference
    cell (the first that does not differ)."""
    divergence = case.divergence
    if divergence is None:
        return []
    present = [c for c in cells if c in case.results]
    reference = next((c for c in present if c not in divergence.differing), present[0] if present else None)
    if reference is None:
        return []
    base = case.results[reference]
    found = []
    for cell in present:
        if cell == reference:
            continue
        other = case.results[cell]
        for stream, a, b in (("stdout", base.stdout, other.stdout), ("stderr", base.stderr, other.stderr)):
            if a != b:
                text, cut = _line_diff(a, b, f"{reference} {stream}", f"{cell} {stream}")
                found.append({"s": stream, "a": reference, "b": cell, "u": text, "cut": cut})
    return found


def _case_json(case: _Case, cells: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "a": case.artifact,
        "n": case.name,
        "r": [_result_json(case.results[c]) if c in case.results else None for c in cells],
    }
    if case.divergence is not None:
        d = case.divergence
        data["d"] = {"k": d.kind, "sc": d.scope, "ex": d.expected, "dc": list(d.differing), "dt": d.detail}
        data["df"] = _diffs(case, cells)
    return data


def _embed_json(data: Any) -> str:
    """JSON that is safe inside `<script type="application/json">` whatever its strings hold."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    text = _scrub(text)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


# ---- the HTML ------------------------------------------------------------------------------


def _css() -> str:
    outcome_rules = "".join(f".{CODES[o][0]}{{background:{bg};color:{fg}}}" for o, (bg, fg) in COLOURS.items())
    return _CSS + outcome_rules


def _header(document: ResultsDocument, cases: list[_Case], cells: list[str]) -> str:
    failures = len(document.failures())
    divergent = [d for d in document.divergences if d.fails]
    if failures:
        verdict, cls = f"{failures} failing job{'s' * (failures != 1)}", "bad"
    elif divergent:
        verdict, cls = f"{len(divergent)} divergent case{'s' * (len(divergent) != 1)}", "warn"
    else:
        verdict, cls = "all jobs passed or were skipped", "good"
    facts = [
        f"{len(document.results)} jobs",
        f"{len(cases)} cases",
        f"{len(cells)} cell{'s' * (len(cells) != 1)}",
        f"{len(document.divergences)} divergent",
    ]
    stats = document.stats
    if stats.get("wall_s") is not None:
        facts.append(f"{float(stats['wall_s']):.1f} s wall")
    if stats.get("shard"):
        facts.append(f"shard {stats['shard']}")
    when = " → ".join(_when(x) for x in (document.started, document.finished) if x)
    parts = [
        "<header><h1>wasitest report</h1>",
        f'<p class="verdict {cls}">{_e(verdict)}</p>',
        f'<p class="facts">{" · ".join(_e(f) for f in facts)}</p>',
    ]
    meta = []
    if when:
        meta.append(f"<span>{_e(when)}</span>")
    if document.bundle_id:
        meta.append(f"<span>bundle <code>{_e(document.bundle_id)}</code></span>")
    if meta:
        parts.append(f'<p class="meta">{" ".join(meta)}</p>')
    if document.interrupted:
        parts.append('<p class="verdict bad">interrupted: the results below are what finished</p>')
    parts.append("</header>")
    return "".join(parts)


def _summary(document: ResultsDocument, cells: list[str]) -> str:
    present = document.outcomes()
    outcomes = [o for o in CODES if o in present]
    counts = document.counts()
    known = {c.id: c for c in document.cells}
    columns: list[tuple[str, Callable[[str], str]]] = [
        ("version", lambda c: known[c].runtime_version if c in known else ""),
        ("platform", lambda c: known[c].platform if c in known else ""),
    ]
    columns = [(name, get) for name, get in columns if any(get(c) for c in cells)]
    head = "".join(
        f'<th class="n" title="{o.value}"><span class="chip {CODES[o][0]}">{_e(CODES[o][1])}</span></th>'
        for o in outcomes
    )
    rows = []
    for cell_id in cells:
        row = counts.get(cell_id, {})
        total = sum(row.values())
        bar = (
            "".join(
                f'<i class="{CODES[o][0]}" style="width:{100 * row[o.value] / total:.3f}%" title="{_e(o.value)}: '
                f'{row[o.value]}"></i>'
                for o in outcomes
                if row.get(o.value)
            )
            if total
            else ""
        )
        rows.append(
            f"<tr><th>{_e(cell_id)}</th>"
            + "".join(f"<td>{_e(get(cell_id))}</td>" for _, get in columns)
            + f'<td class="n">{total}</td><td class="barcell"><span class="bar">{bar}</span></td>'
            + "".join(f'<td class="n">{row.get(o.value, 0) or ""}</td>' for o in outcomes)
            + "</tr>"
        )
    parts = [
        '<section id="summary"><h2>Cells</h2><div class="scroll"><table class="summary"><thead><tr><th>cell</th>',
        "".join(f"<th>{name}</th>" for name, _ in columns),
        f'<th class="n">jobs</th><th>outcomes</th>{head}</tr></thead><tbody>',
        "".join(rows),
        "</tbody></table></div>",
    ]
    if document.unavailable:
        parts.append('<ul class="unavailable">')
        parts.extend(f"<li>runtime <b>{_e(k)}</b> unavailable: {_e(v)}</li>" for k, v in document.unavailable.items())
        parts.append("</ul>")
    if document.artifacts:
        parts.append(
            f"<details><summary>{len(document.artifacts)} artifacts</summary>"
            '<table class="artifacts"><thead><tr><th>artifact</th><th>harness</th><th>toolchain</th>'
            "<th>sha256</th></tr></thead><tbody>"
        )
        for a in document.artifacts:
            parts.append(
                f"<tr><td>{_e(a.get('id', ''))}</td><td>{_e(a.get('harness', ''))}</td>"
                f"<td>{_e(a.get('toolchain', ''))}</td><td><code>{_e(str(a.get('sha256', ''))[:16])}</code>"
                "</td></tr>"
            )
        parts.append("</tbody></table></details>")
    parts.append("</section>")
    return "".join(parts)


def _divergences(document: ResultsDocument, index: dict[tuple[str, str], int]) -> str:
    if not document.divergences:
        return (
            '<section id="divergences"><h2>Divergences</h2>'
            "<p>None: every cell that ran a case behaved the same way.</p></section>"
        )
    listed = document.divergences[:MAX_LISTED_DIVERGENCES]
    rows = []
    for n, d in enumerate(listed):
        if n == OPEN_DIVERGENCES:  # the rest folded, unfolded by a checkbox (CSS, no JS)
            rows.append('</tbody><tbody class="more">')
        i = index.get((d.artifact, d.case))
        name = _e(f"{d.artifact}::{d.case}")
        link = f'<a href="#c{i}">{name}</a>' if i is not None else name
        expected = ' <span class="tag">expected</span>' if d.expected else ""
        rows.append(
            f"<tr><td>{link}{expected}</td><td>{_e(d.kind)}</td><td>{_e(d.scope)}</td>"
            f'<td>{_e(", ".join(d.differing))}</td><td class="detail">{_e(d.detail)}</td></tr>'
        )
    toggle = label = ""
    if len(listed) > OPEN_DIVERGENCES:
        toggle = '<input type="checkbox" id="more-divs" class="toggle">'
        label = f'<label for="more-divs" class="toggle">{len(listed) - OPEN_DIVERGENCES} more</label>'

    more = len(document.divergences) - len(listed)
    tail = f"<p>… and {more} more: filter the matrix by “divergent only”.</p>" if more > 0 else ""
    return (
        f'<section id="divergences"><h2>Divergences <span class="count">{len(document.divergences)}</span></h2>'
        f'{toggle}<table class="divs"><thead><tr><th>case</th><th>kind</th><th>scope</th><th>differing</th>'
        f"<th>detail</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{label}{tail}</section>"
    )


def _legend(outcomes: Iterable[Outcome]) -> str:
    chips = "".join(
        f'<label><input type="checkbox" name="o" value="{o.value}" checked>'
        f'<span class="chip {CODES[o][0]}">{_e(CODES[o][1])}</span> {_e(o.value)}</label>'
        for o in outcomes
    )
    return (
        '<form id="filters" hidden onsubmit="return false">'
        f'<fieldset class="outcomes"><legend>outcome</legend>{chips}</fieldset>'
        '<fieldset><legend>divergence</legend><select name="dv"><option value="all">all cases</option>'
        '<option value="div">divergent only</option><option value="same">not divergent</option></select>'
        "</fieldset>"
        '<fieldset><legend>case</legend><input type="search" name="q" placeholder="filter by name"></fieldset>'
        '<output id="shown"></output></form>'
    )


def _matrix(cases: list[_Case], cells: list[str], outcomes: list[Outcome]) -> str:
    head = "".join(f'<th class="cellhead" title="{_e(c)}">{_e(c)}</th>' for c in cells)
    parts = [
        '<section id="matrix-section"><h2>Matrix</h2>',
        _legend(outcomes),
        "<noscript><p>The filters and the per-case view (output, diffs) need JavaScript; "
        "the table below is complete without it.</p></noscript>",
        f'<table id="matrix"><thead><tr><th>case</th>{head}</tr></thead>',
    ]
    artifact = None
    for i, case in enumerate(cases):
        if case.artifact != artifact:
            if artifact is not None:
                parts.append("</tbody>")
            artifact = case.artifact
            parts.append(f'<tbody><tr class="group"><th colspan="{len(cells) + 1}">{_e(artifact)}</th></tr>')
        d = case.divergence
        differing = set(d.differing) if d else set()
        cls = "" if d is None else (' class="dv ex"' if d.expected else ' class="dv"')
        marker = "" if d is None else f'<span class="mk" title="divergent: {_e(d.kind)}">≠</span>'
        tds = []
        for cell in cells:
            r = case.results.get(cell)
            if r is None:
                tds.append('<td class="none" title="no result">—</td>')
                continue
            code, label = CODES[r.outcome]
            if cell in differing:
                code += " df"
            if r.outcome is Outcome.PASSED:  # the bulk of a big report: no title, the column says the cell
                tds.append(f'<td class="{code}">{label}</td>')
                continue
            title = f"{cell}: {r.outcome.value}" + (f" — {_first_line(r.message)}" if r.message else "")
            tds.append(f'<td class="{code}" title="{_e(title)}">{label}</td>')
        parts.append(f'<tr id="c{i}"{cls}><th><a href="#c{i}">{_e(case.name)}</a>{marker}</th>{"".join(tds)}</tr>')
    if artifact is not None:
        parts.append("</tbody>")
    parts.append("</table></section>")
    return "".join(parts)


def render_html(document: ResultsDocument) -> str:
    """The whole report as one HTML page (a pure function of the document)."""
    cells = _cell_ids(document)
    cases = _cases(document)
    index = {(c.artifact, c.name): i for i, c in enumerate(cases)}
    present = document.outcomes()
    outcomes = [o for o in CODES if o in present]
    data = {
        "cells": cells,
        "codes": {o.value: CODES[o][0] for o in CODES},
        "cases": [_case_json(c, cells) for c in cases],
    }
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="color-scheme" content="light dark">'
            "<title>wasitest report</title>",
            f"<style>{_css()}</style></head><body>",
            _header(document, cases, cells),
            "<main>",
            _summary(document, cells),
            _divergences(document, index),
            _matrix(cases, cells, outcomes),
            "</main>",
            '<dialog id="case" aria-labelledby="case-title"><div id="case-body"></div></dialog>',
            f'<script type="application/json" id="wt-data">{_embed_json(data)}</script>',
            f"<script>{_JS}</script></body></html>\n",
        ]
    )


def write_html(document: ResultsDocument, path: Path) -> None:
    write_text_atomically(path, render_html(document))


class HtmlReporter:
    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl
    def wasitest_run_end(self, summary: Any) -> None:
        write_html(summary.document, self.path)


def _factory(settings: Settings) -> HtmlReporter | None:
    path = settings.extra.get("html")
    return HtmlReporter(Path(path)) if path else None


@hookimpl
def wasitest_addoption(parser: OptionParser) -> None:
    parser.add_option("--html", kind="output", help="write a self-contained HTML report here")


@hookimpl
def wasitest_register_reporters(register: Callable[[str, Callable[[Settings], Any]], None]) -> None:
    register("html", _factory)


_CSS = """
:root{--bg:#ffffff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;--accent:#0969da;
--add:#dafbe1;--del:#ffebe9;--hunk:#ddf4ff;--mark:#bf8700;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;
--panel:#151b23;--accent:#4493f8;--add:#12361f;--del:#3d1214;--hunk:#0c2d6b;--mark:#d29922}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,"Helvetica Neue",Arial,sans-serif}
header,main{max-width:1400px;margin:0 auto;padding:0 20px}
header{padding-top:16px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.count{font-weight:normal;color:var(--muted)}
.verdict{display:inline-block;margin:2px 0;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}
.verdict.bad{background:#d1242f}.verdict.warn{background:#bf8700}.verdict.good{background:#2da44e}
.facts,.meta{margin:4px 0;color:var(--muted)}
.meta span{margin-right:14px}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,monospace}
table{border-collapse:collapse}
th,td{text-align:left;vertical-align:top}
.summary th,.summary td,.divs th,.divs td,.artifacts th,.artifacts td{padding:4px 10px;
border-bottom:1px solid var(--line)}
thead th{font-weight:600;color:var(--muted);font-size:12px}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
.summary th,.summary td{white-space:nowrap}.summary .n{padding-left:6px;padding-right:6px}
.barcell{vertical-align:middle}
.bar{display:flex;height:14px;width:180px;border-radius:3px;overflow:hidden;background:var(--panel)}
.bar i{display:block;height:100%}
.chip{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;font-weight:600}
.divs .detail{color:var(--muted);max-width:700px;word-break:break-word}
.tag{font-size:11px;border:1px solid var(--line);border-radius:8px;padding:0 5px;color:var(--muted)}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
details summary{cursor:pointer;color:var(--muted);margin:8px 0}
.unavailable{color:var(--muted)}
input.toggle{display:none}
label.toggle{display:inline-block;cursor:pointer;color:var(--accent);font-size:12px;margin-top:4px}
label.toggle::before{content:"▸ show "}
input.toggle:checked~label.toggle::before{content:"▾ hide "}
input.toggle:not(:checked)~table tbody.more{display:none}
#filters{display:flex;flex-wrap:wrap;gap:8px 18px;align-items:flex-end;margin:6px 0 10px}
#filters[hidden]{display:none}
#filters fieldset{border:0;padding:0;margin:0}
#filters legend{font-size:11px;color:var(--muted);padding:0}
#filters label{margin-right:8px;white-space:nowrap;font-size:12px}
#filters .chip{min-width:0}
#shown{color:var(--muted);font-size:12px}
#matrix{font-size:12px;margin-bottom:40px}
#matrix th,#matrix td{border:1px solid var(--bg);padding:1px 6px;height:20px}
#matrix thead th{position:sticky;top:0;background:var(--bg);z-index:1;border-bottom:1px solid var(--line);
vertical-align:bottom}
#matrix .cellhead{width:88px;min-width:88px;max-width:88px;overflow-wrap:anywhere;text-align:center;font-size:11px}
#matrix tbody th{font-weight:normal;max-width:520px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;
border-left:3px solid transparent;padding-left:8px}
#matrix tr.group th{font-weight:600;color:var(--muted);padding-top:8px;border-left-color:transparent}
#matrix td{text-align:center;font-weight:600;font-size:11px;cursor:pointer}
#matrix td.none{color:var(--muted);cursor:default;background:repeating-linear-gradient(45deg,var(--panel),
var(--panel) 4px,var(--bg) 4px,var(--bg) 8px)}
#matrix tr.dv>th{border-left-color:var(--mark);background:linear-gradient(90deg,rgba(191,135,0,.16),transparent)}
#matrix tr.dv.ex>th{border-left-style:dashed}
#matrix td.df{box-shadow:inset 0 0 0 2px var(--mark)}
#matrix tbody tr:hover>th{background:var(--panel)}
.mk{color:var(--mark);font-weight:700;margin-left:6px}
dialog{width:min(1300px,96vw);max-height:92vh;border:1px solid var(--line);border-radius:8px;padding:0;
background:var(--bg);color:var(--fg)}
dialog::backdrop{background:rgba(0,0,0,.45)}
#case-body{padding:14px 18px}
.case-head{display:flex;justify-content:space-between;gap:10px;align-items:flex-start}
.case-head h2{border:0;margin:0 0 6px;font-size:16px;word-break:break-all}
.case-head button{font-size:13px;padding:3px 10px;cursor:pointer}
.divinfo{border-left:3px solid var(--mark);padding:4px 10px;background:var(--panel);margin:6px 0 12px}
.cells{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:12px}
.cellcard{border:1px solid var(--line);border-radius:6px;padding:8px 10px;min-width:0}
.cellcard.df{border-color:var(--mark);box-shadow:0 0 0 1px var(--mark)}
.cellcard h3{margin:0 0 6px;font-size:14px;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.facts2{display:grid;grid-template-columns:max-content 1fr;gap:1px 10px;font-size:12px;margin:0 0 6px}
.facts2 dt{color:var(--muted)}.facts2 dd{margin:0;word-break:break-all}
.stream{font-size:11px;color:var(--muted);margin:6px 0 2px}
pre{margin:0;padding:6px 8px;background:var(--panel);border-radius:4px;max-height:22em;overflow:auto;
white-space:pre-wrap;word-break:break-all}
pre.empty{color:var(--muted);font-style:italic}
pre.diff span{display:block}
pre.diff .a{background:var(--add)}pre.diff .d{background:var(--del)}pre.diff .h{background:var(--hunk)}
h4{margin:14px 0 4px;font-size:13px}
"""

_JS = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("wt-data").textContent);
  var OUTCOME = {};
  Object.keys(D.codes).forEach(function (o) { OUTCOME[D.codes[o]] = o; });
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // filters: a row shows when one of its cells has a checked outcome and it passes the rest
  var form = document.getElementById("filters"), shown = document.getElementById("shown");
  var table = document.getElementById("matrix");
  var rows = Array.prototype.map.call(table.querySelectorAll("tbody tr[id]"), function (tr) {
    var c = D.cases[+tr.id.slice(1)], outcomes = {};
    each(tr.querySelectorAll("td"), function (td) {
      var o = OUTCOME[td.classList[0]];
      if (o) outcomes[o] = 1;
    });
    return {tr: tr, o: outcomes, dv: tr.classList.contains("dv"), name: (c.a + "::" + c.n).toLowerCase()};
  });
  function apply() {
    var want = {}, mode = form.elements.dv.value, q = form.elements.q.value.toLowerCase(), n = 0;
    each(form.querySelectorAll("input[name=o]"), function (b) { if (b.checked) want[b.value] = 1; });
    rows.forEach(function (r) {
      var ok = Object.keys(r.o).some(function (k) { return want[k]; });
      if (mode === "div") ok = ok && r.dv;
      else if (mode === "same") ok = ok && !r.dv;
      if (q) ok = ok && r.name.indexOf(q) >= 0;
      r.tr.hidden = !ok;
      if (ok) n++;
    });
    each(table.tBodies, function (tb) { tb.hidden = !tb.querySelector("tr[id]:not([hidden])"); });
    shown.textContent = n + " of " + rows.length + " cases shown";
  }
  form.hidden = false;
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  apply();
  table.addEventListener("click", function (ev) {
    var td = ev.target.closest("td");
    if (td && !td.classList.contains("none") && td.parentNode.id) location.hash = "#" + td.parentNode.id;
  });

  // the per-case view: #cN opens it, built with textContent only (the data is untrusted)
  var dlg = document.getElementById("case"), body = document.getElementById("case-body");
  function fmt(s) { return s < 1 ? (s * 1000).toFixed(1) + " ms" : s.toFixed(2) + " s"; }
  function block(parent, label, text, cut) {
    parent.appendChild(el("div", "stream", label + (cut ? " (truncated)" : "")));
    parent.appendChild(text ? el("pre", null, text) : el("pre", "empty", "(empty)"));
  }
  function card(c, cell, j) {
    var r = c.r[j], d = c.d;
    var box = el("section", "cellcard" + (d && d.dc.indexOf(cell) >= 0 ? " df" : ""));
    var h3 = el("h3");
    h3.appendChild(el("span", null, cell));
    box.appendChild(h3);
    if (!r) {
      box.appendChild(el("p", "stream", "no result in this cell"));
      return box;
    }
    h3.appendChild(el("span", "chip " + D.codes[r.o], r.o));
    var dl = el("dl", "facts2");
    function fact(k, v) { dl.appendChild(el("dt", null, k)); dl.appendChild(el("dd", null, v)); }
    if (r.x !== undefined) fact("exit code", r.x);
    if (r.t) fact("trap", r.t);
    fact("duration", fmt(r.s));
    if (r.e) fact("expectation", r.e);
    if (r.f) fact("location", r.f);
    if (r.at) fact("attempts", r.at.map(function (a) {
      return a.outcome + (a.message ? ": " + a.message : "");
    }).join(" | "));
    box.appendChild(dl);
    if (r.m) block(box, "message", r.m);
    block(box, "stdout", r.out || "", r.ot);
    block(box, "stderr", r.err || "", r.et);
    return box;
  }
  function diffLine(line) {
    var head = line.slice(0, 3), k = line.charAt(0);
    var cls = head === "+++" || head === "---" || k === "@" ? "h" : k === "+" ? "a" : k === "-" ? "d" : "";
    return el("span", cls, line);
  }
  function render(i) {
    var c = D.cases[i], d = c.d;
    body.textContent = "";
    var head = el("div", "case-head"), title = el("h2", null, c.a + "::" + c.n);
    title.id = "case-title";
    head.appendChild(title);
    var close = el("button", null, "close");
    close.addEventListener("click", function () { dlg.close(); });
    head.appendChild(close);
    body.appendChild(head);
    if (d) {
      var info = el("div", "divinfo");
      info.appendChild(el("b", null, (d.ex ? "expected " : "") + "divergence (" + d.k + ", " + d.sc + ")"));
      info.appendChild(document.createTextNode(" differing: " + d.dc.join(", ")));
      info.appendChild(el("div", null, d.dt));
      body.appendChild(info);
    }
    var grid = el("div", "cells");
    D.cells.forEach(function (cell, j) { grid.appendChild(card(c, cell, j)); });
    body.appendChild(grid);
    if (!d) return;
    body.appendChild(el("h4", null, "Diffs"));
    if (!c.df.length) body.appendChild(el("p", "stream", "stdout and stderr are the same in every cell"));
    c.df.forEach(function (x) {
      body.appendChild(el("div", "stream", x.s + ": " + x.a + " → " + x.b + (x.cut ? " (cut)" : "")));
      var pre = el("pre", "diff");
      x.u.split("\n").forEach(function (line) { pre.appendChild(diffLine(line)); });
      body.appendChild(pre);
    });
  }
  function route() {
    var m = /^#c(\d+)$/.exec(location.hash);
    if (m && D.cases[+m[1]]) {
      render(+m[1]);
      if (!dlg.open) dlg.showModal();
    } else if (dlg.open) dlg.close();
  }
  dlg.addEventListener("close", function () {
    if (/^#c\d+$/.test(location.hash)) {
      try { history.replaceState(null, "", location.pathname + location.search); } catch (e) { /* file: URLs */ }
    }
  });
  dlg.addEventListener("click", function (ev) { if (ev.target === dlg) dlg.close(); });
  window.addEventListener("hashchange", route);
  route();
})();
"""

"""The Markdown summary of a results document: counts per cell, then the divergences, then
the failures with their output folded away.

Core, not a plugin, because two front ends show it: the `markdown` reporter writes it to a
file (`$GITHUB_STEP_SUMMARY`), and `wasitest github` puts it in the step summary and the
check run. `ICONS` mark outcomes in every Markdown wasitest writes (the matrix table and the
pull-request comment too).

GitHub refuses a step summary over 1 MiB, so the text is cut at `MAX_BYTES` (a little
under) at a line boundary, with a note saying how much was left out and where to find it.
"""

from __future__ import annotations

from wasitest.model import Outcome, Result
from wasitest.results import ResultsDocument

MAX_BYTES = 1_000_000
ICONS = {
    Outcome.PASSED: "✅", Outcome.FAILED: "❌", Outcome.TRAPPED: "💥", Outcome.TIMEOUT: "⏱️",
    Outcome.SKIPPED: "⏭️", Outcome.UNSUPPORTED: "🚫", Outcome.XFAILED: "☑️", Outcome.XPASSED: "❗",
    Outcome.CRASHED: "🔥", Outcome.ERROR: "⚠️", Outcome.FLAKY: "🎲",
}


def _cell(text: str) -> str:
    """Safe inside a Markdown table cell: no pipes, no newlines, no HTML."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", " ").strip())


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text.rstrip()}\n{fence}"


def _outcome(result: Result) -> str:
    extra = f" exit {result.exit_code}" if result.exit_code is not None and result.outcome is not Outcome.PASSED else ""
    if result.trap:
        extra = f" {result.trap}"
    return f"{ICONS.get(result.outcome, '')} {result.outcome.value}{extra}"


def render_markdown(document: ResultsDocument, title: str = "wasitest") -> str:
    lines = [f"## {title}", ""]
    outcomes = [o for o in Outcome if any(r.outcome is o for r in document.results)]
    lines.append("| cell | version | " + " | ".join(f"{ICONS[o]} {o.value}" for o in outcomes) + " |")
    lines.append("| --- | --- | " + " | ".join("---:" for _ in outcomes) + " |")
    counts = document.counts()
    for cell in document.cells:
        row = counts.get(cell.id, {})
        lines.append(f"| `{_cell(cell.id)}` | {_cell(cell.runtime_version)} | "
                     + " | ".join(str(row.get(o.value, 0) or "") for o in outcomes) + " |")
    for name, reason in document.unavailable.items():
        lines.append(f"\n> `{_cell(name)}` unavailable: {_cell(reason)}")
    if document.divergences:
        cells = [c.id for c in document.cells]
        lines += ["", f"### {len(document.divergences)} divergent case(s)", "",
                  "| case | kind | " + " | ".join(f"`{_cell(c)}`" for c in cells) + " |",
                  "| --- | --- | " + " | ".join("---" for _ in cells) + " |"]
        for d in document.divergences:
            by_cell = {r.cell: r for r in d.results}
            kind = f"{d.scope} {d.kind}" + (" (expected)" if d.expected else "")
            lines.append(f"| `{_cell(d.artifact)}::{_cell(d.case)}` | {kind} | "
                         + " | ".join(_outcome(by_cell[c]) if c in by_cell else "" for c in cells) + " |")
    failures = document.failures()
    if failures:
        lines += ["", f"### {len(failures)} failing job(s)", ""]
        for r in failures:
            first = r.message.splitlines()[0] if r.message else ""
            summary = _cell(f"{r.artifact}::{r.case} [{r.cell}] {r.outcome.value}: {first}")
            body = "\n".join((r.stderr or r.stdout or r.message).splitlines()[-30:])
            lines += ["<details>", f"<summary>{summary}</summary>", "", _fence(body), "", "</details>"]
    if document.interrupted:
        lines += ["", "> ⚠️ The run was interrupted: these are the jobs that finished."]
    return _truncate("\n".join(lines) + "\n")


def _truncate(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= MAX_BYTES:
        return text
    cut = data[: MAX_BYTES - 300].decode("utf-8", "ignore")
    cut = cut[: cut.rfind("\n") + 1]
    if cut.count("<details>") > cut.count("</details>"):
        cut += "\n```\n</details>\n"
    left = len(data) - len(cut.encode("utf-8"))
    return cut + f"\n> ✂️ Summary cut at 1 MB: {left:,} more bytes are in the JUnit and results.json reports.\n"

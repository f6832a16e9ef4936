"""The size report as Markdown tables, ready for a pull request comment."""

from __future__ import annotations

from depmin.outputs.words import human_bytes, row_value
from depmin.usecases.size_report import SizeReport


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def report_markdown(report: SizeReport) -> str:
    lines = [f"| {_cell(report.title)} | Whole project | Target | Saved |", "|---|---:|---:|---:|"]
    for row in report.rows:
        whole, target = row_value(row, row.whole), row_value(row, row.target)
        lines.append(f"| {_cell(row.metric)} | {whole} | {target} | {row.saved_percent:.0f}% |")
    lines += ["", "| Largest distributions | Size | Whole project | Target |", "|---|---:|:---:|:---:|"]
    for item in report.largest:
        mark = "✓" if item.in_target else "–"
        lines.append(f"| {_cell(item.pin.name)} {_cell(item.pin.version)} | {human_bytes(item.size)} | ✓ | {mark} |")
    return "\n".join(lines) + "\n"

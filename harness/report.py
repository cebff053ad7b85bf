"""The HTML report: one self-contained file (inline CSS, no external URLs), every string escaped."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.results import Results


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("harness", "templates"), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.1f}%"
    return env


def _num(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:,.{digits}f}"


def render_report(results: Results) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(r=results, summary=results.summary, variants=results.variants)

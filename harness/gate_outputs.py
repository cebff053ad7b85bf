"""Gate results for CI: JUnit XML (one testcase per gate), a Markdown summary, and JSON."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.gates import GateReport, GateResult


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def _ci(gate: GateResult) -> str:
    return "–" if gate.ci_low is None else f"[{gate.ci_low:+.4g}, {gate.ci_high:+.4g}]"


def junit_xml(report: GateReport, suite: str) -> str:
    root = ET.Element("testsuites", name="harness", tests=str(len(report.gates)), failures=str(report.failed))
    suite_node = ET.SubElement(root, "testsuite", name=f"harness gates: {suite}", tests=str(len(report.gates)),
                               failures=str(report.failed), errors="0", skipped="0", time="0")
    properties = ET.SubElement(suite_node, "properties")
    for name, value in (("baseline", report.baseline), ("forced", report.forced)):
        if value:
            ET.SubElement(properties, "property", name=name, value=value)
    for gate in report.gates:
        case = ET.SubElement(suite_node, "testcase", classname=f"harness.gates.{suite}", name=gate.gate, time="0")
        message = f"measured {_number(gate.measured)}, bound {_number(gate.bound)}, 95% CI {_ci(gate)}"
        if gate.passed:
            ET.SubElement(case, "system-out").text = f"{message}. {gate.detail}"
        else:
            failure = ET.SubElement(case, "failure", message=message, type=f"gate.{gate.kind}")
            failure.text = gate.detail
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_summary(report: GateReport, suite: str, run: str, notice: str | None = None) -> str:
    head = "✅ all gates pass" if report.passed else f"❌ {report.failed} of {len(report.gates)} gates failed"
    lines = [f"### harness gates: {suite} — {head}", "", f"Run: `{run}`"]
    if notice:
        lines += ["", f"> **Smoke run.** {notice}"]
    if report.baseline:
        lines.append(f"Baseline: `{report.baseline}`")
    if report.forced:
        lines += ["", f"> **Forced comparison:** {report.forced}"]
    lines += ["", "| gate | measured | bound | 95% CI | result |", "| --- | ---: | ---: | --- | --- |"]
    for gate in report.gates:
        lines.append(f"| `{_cell(gate.gate)}` | {_number(gate.measured)} | {_number(gate.bound)} | {_ci(gate)} | "
                     f"{'pass' if gate.passed else '**FAIL**'} |")
    failures = [g for g in report.gates if not g.passed]
    if failures:
        lines += ["", "Failed:"] + [f"- `{_cell(g.gate)}`: {_cell(g.detail)}" for g in failures]
    return "\n".join(lines) + "\n"

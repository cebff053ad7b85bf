"""The code's layout follows the data flow: each module belongs to one stage, and no module imports a later
stage's (imports inside functions included; those only a type checker reads excepted). The stages are the
README's Layout section, in order."""

from __future__ import annotations

import ast
import re

from conftest import ROOT

# Stage by stage, as the data flows (README.md, "Layout"); a module may import its own stage and earlier ones.
STAGES = [
    ("serve every stage", "errors files limits versions progress cache markdown processes"),
    ("suite", "suite_fields suite_file suite_panels suite"),
    ("data", "data_files examples"),
    ("variants", "variants"),
    ("input checks", "panel_checks checks"),
    ("model", "smoke gguf models"),
    ("prompts", "tokens prompts"),
    ("adapters", "adapter_folder validation training external"),
    ("generations", "generation vllm_engine metrics.perplexity evaluation panels precision"),
    ("scores", "metrics.check_result metrics.sentences metrics.length metrics.asked metrics.echo metrics.lexicon "
               "metrics.filler metrics.json_schemas metrics.json_checks metrics.text_checks metrics.format_checks "
               "metrics.custom metrics.registry metrics scorers scoring"),
    ("paired comparisons", "stats compare tasks splits panel_results canary data_size"),
    ("results", "results manifest"),
    ("analysis", "analysis"),
    ("gates", "gates"),
    ("outputs", "charts report_panels report console merge export gate_outputs run_folder baselines"),
    ("wiring", "run runs cli __main__ __init__"),
]
RANK = {module: rank for rank, (_, modules) in enumerate(STAGES) for module in modules.split()}


def _module(path) -> str:
    parts = path.relative_to(ROOT / "harness").with_suffix("").parts
    return ".".join(parts[:-1]) if parts[-1] == "__init__" and len(parts) > 1 else ".".join(parts)


def _imports(tree: ast.AST) -> set[str]:
    """harness modules imported at run time (an `if TYPE_CHECKING:` block is read by type checkers only)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness."):
            found.add(node.module.removeprefix("harness."))
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("harness.") for a in node.names if a.name.startswith("harness."))
    return found


def test_every_module_has_a_stage():
    modules = {_module(path) for path in (ROOT / "harness").rglob("*.py")}
    assert modules - set(RANK) == set(), "give each new module its stage here and in README.md's Layout"
    assert set(RANK) - modules == set(), "a module named here no longer exists"


def test_no_module_imports_a_later_stage():
    against = []
    for path in sorted((ROOT / "harness").rglob("*.py")):
        module = _module(path)
        for imported in _imports(ast.parse(path.read_text("utf-8"))):
            if RANK[imported] > RANK[module]:
                against.append(f"{module} ({STAGES[RANK[module]][0]}) imports {imported} "
                               f"({STAGES[RANK[imported]][0]})")
    assert not against, "imports against the data flow:\n" + "\n".join(against)


def test_the_readme_layout_names_every_module():
    layout = (ROOT / "README.md").read_text("utf-8").split("## Layout", 1)[1].split("```")[1]
    named = set(re.findall(r"([\w/]+)\.py", layout))
    expected = {module.replace(".", "/") for module in RANK} - {"__main__", "__init__", "metrics"}
    if "metrics/*" in layout:  # the metric families, one small module each
        named |= {name for name in expected if name.startswith("metrics/")}
    assert expected - named == set(), "README.md's Layout does not name these modules"

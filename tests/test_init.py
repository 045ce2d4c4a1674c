"""helpers/__init__.py: the rule for the public surface, and the size rules of the library.

The top level is the chapter-8/9 workflow: exactly the `__all__` of the star-imported modules;
the course's own tools are submodules, imported by name, never star-exported.
"""
import ast
import importlib
import inspect
import json
import re
import types
from pathlib import Path

import helpers

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ("data", "models", "utils", "history", "evaluation", "precision", "training", "sampling", "plots",
            "compat")
TOOLS = ("stacks", "experiments", "probes", "widgets", "diagrams", "checks", "corpora")
ENVIRONMENT = {"DEEP_RNN_DATA", "OMP_NUM_THREADS", "MKL_NUM_THREADS"}  # what a learner may set


def public_names():
    return {n for n, v in vars(helpers).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}


def test_the_top_level_is_exactly_the_workflow_modules_all():
    star = {n for m in WORKFLOW for n in importlib.import_module(f"helpers.{m}").__all__}
    assert public_names() == star - {"plt"} and helpers.plt is importlib.import_module("matplotlib.pyplot")
    source = (ROOT / "helpers" / "__init__.py").read_text()
    assert re.findall(r"^from \.(\w+) import \*$", source, re.M) == list(WORKFLOW)
    for module in WORKFLOW:  # every name is defined where its module's __all__ says (no re-export chains)
        mod = importlib.import_module(f"helpers.{module}")
        for name in mod.__all__:
            obj = getattr(mod, name)
            home = getattr(obj, "__module__", None)
            assert home in (mod.__name__, None) or not home.startswith("helpers") or module == "data", (module, name)


def test_the_course_tools_are_submodules_and_not_star_exported():
    for tool in TOOLS:
        names = set(getattr(importlib.import_module(f"helpers.{tool}"), "__all__", ()))
        assert not names & public_names() - {"CorpusError", "DATA_HUB", "DATA_URL", "CORPORA", "data_dir",
                                             "download", "corpus_path"}, tool


def test_every_top_level_name_a_notebook_uses_exists():
    used = set()
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                used |= set(re.findall(r"\bd2l\.([A-Za-z_]\w*)", "".join(cell["source"])))
    assert used <= set(dir(helpers)), used - set(dir(helpers))


def sources():
    return {path: path.read_text() for path in sorted((ROOT / "helpers").glob("*.py"))}


def test_no_function_over_45_lines_and_no_module_over_350():
    """Outside helpers/checks/ (each check is one case list, read top to bottom)."""
    long = []
    for path, text in sources().items():
        assert len(text.splitlines()) <= 350, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 45:
                long.append(f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert long == []


def test_the_depth_explorer_class_is_only_its_wiring():
    from helpers.widgets import DepthExplorer
    assert len(inspect.getsource(DepthExplorer).splitlines()) < 110


def test_helpers_reads_only_the_environment_a_learner_sets():
    """No switch that only tests set (DEEP_RNN_SMOKE was one): tests/smoke/ does that job from outside."""
    read = set()
    for text in sources().values():
        read |= set(re.findall(r"""environ(?:\.get)?[\[(]\s*["'](\w+)["']""", text))  # os.environ.get("NAME")
        read |= set(re.findall(r"""^\w+_ENV\s*=\s*["'](\w+)["']""", text, re.M))  # DATA_ENV = "NAME"
    assert read == ENVIRONMENT

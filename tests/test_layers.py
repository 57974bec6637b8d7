"""The package's layering: which modules may import which, read from the source with `ast`.

Every import counts, function-local ones included: a late import hides a circle from a reader but
not from the interpreter. From the bottom up the layers are: the basics at the top level (errors,
devices, models, schema), nets/, io/, synth/, edit/, then bench/ and gui/ side by side, and cli/
on top. A module may import its own layer and the ones below; only gui/ uses Qt.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dragedit"

RANK = {"basics": 0, "nets": 1, "io": 2, "synth": 3, "edit": 4, "bench": 5, "gui": 5, "cli": 6}

# The package's own __init__ is a facade (load_generator, save_generator) and __main__ the entry
# point: both may reach any layer.
ENTRY_POINTS = {"dragedit", "dragedit.__main__"}

# Arrows issue #20 removes in other work that is not merged here yet: io's format modules reach
# back into checkpoint.py, and synth/ takes the LPIPS loader and to_uint8 from edit/.
# test_pending_arrows_are_still_there fails once one is gone: then delete it from this set.
PENDING: set = set()


def _modules() -> dict:
    """{'dragedit.edit.drag': (path, is_package), ...} for every .py file of the package."""
    mods = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        mods[".".join(parts)] = (path, is_package)
    return mods


MODULES = _modules()


def _imports(name) -> list:
    """(imported name, line) of every import statement in a module, relative ones resolved; `from X
    import Y` names the module X.Y when that is a module of ours, else X."""
    path, is_package = MODULES[name]
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            for alias in node.names:
                full = f"{module}.{alias.name}"
                found.append((full if full in MODULES else module, node.lineno))
    return found


def _graph() -> dict:
    """{module: {(imported module of ours, line), ...}}."""
    return {m: {(t, line) for t, line in _imports(m) if t in MODULES and t != m} for m in MODULES}


GRAPH = _graph()


def _layer(name) -> str:
    if name in ENTRY_POINTS:
        return "entry"
    parts = name.split(".")
    if len(parts) == 2 and not MODULES[name][1]:
        return "basics"
    return parts[1]


def test_every_module_has_a_layer():
    for name in MODULES:
        if name not in ENTRY_POINTS:
            assert _layer(name) in RANK, f"{name}: no layer; add its folder to RANK in {Path(__file__).name}"


def test_every_import_of_ours_names_a_module_that_exists():
    """Catches a relative import left one level off by a move, even inside a function that no test runs."""
    wrong = [f"{MODULES[m][0].relative_to(ROOT)}:{line} imports {t}"
             for m in MODULES for t, line in _imports(m) if t.split(".")[0] == "dragedit" and t not in MODULES]
    assert not wrong, "\n".join(wrong)


def test_only_the_gui_imports_qt():
    wrong = [f"{MODULES[m][0].relative_to(ROOT)}:{line} imports {t}"
             for m in MODULES if _layer(m) != "gui" for t, line in _imports(m)
             if t.split(".")[0] in ("PySide6", "shiboken6")]
    assert not wrong, "\n".join(wrong)


def test_no_import_points_up_a_layer():
    wrong = []
    for m, targets in GRAPH.items():
        if m in ENTRY_POINTS:
            continue
        for t, line in sorted(targets):
            if (m, t) in PENDING or t == "dragedit":
                continue   # `from .. import __version__`: the package facade, imported by everyone
            lm, lt = _layer(m), _layer(t)
            side_by_side = lm != lt and RANK[lm] == RANK[lt]
            if RANK[lt] > RANK[lm] or side_by_side:
                wrong.append(f"{MODULES[m][0].relative_to(ROOT)}:{line} ({lm}) imports {t} ({lt})")
    assert not wrong, "\n".join(wrong)


def test_only_the_command_line_takes_parsed_arguments():
    """Engine and benchmark functions take plain values: a parameter called `args` (an argparse
    namespace, by this code's convention) is the command line's, or a script's own main()."""
    wrong = []
    for m, (path, _) in MODULES.items():
        if _layer(m) in ("cli", "entry"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name != "main":
                a = node.args
                names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
                if "args" in names or "namespace" in names:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}()")
    assert not wrong, "\n".join(wrong)


def _cycles(graph) -> list:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
    graph = {m: {t for t, _ in targets if (m, t) not in PENDING} for m, targets in GRAPH.items()}
    assert _cycles(graph) == []


def test_pending_arrows_are_still_there():
    edges = {(m, t) for m, targets in GRAPH.items() for t, _ in targets}
    gone = sorted(PENDING - edges)
    assert not gone, f"these arrows are gone: delete them from PENDING in {Path(__file__).name}: {gone}"


def _import_all_in_a_fresh_interpreter(names) -> subprocess.CompletedProcess:
    code = ("import importlib, sys\n"
            f"for name in {sorted(names)!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')))\n")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_every_engine_module_imports_in_a_fresh_interpreter_without_qt():
    engine = [m for m in MODULES if m not in ENTRY_POINTS and _layer(m) != "gui"]
    res = _import_all_in_a_fresh_interpreter(engine)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]", f"Qt got imported: {res.stdout}"


def test_every_gui_module_imports_in_a_fresh_interpreter():
    res = _import_all_in_a_fresh_interpreter([m for m in MODULES if _layer(m) == "gui"])
    assert res.returncode == 0, res.stderr

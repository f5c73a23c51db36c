"""The house rules a newcomer relies on: the modules' imports point one way (docs/DESIGN.md: a module
imports only modules upstream of it), read from the source, imports inside functions included; and
every module is short enough to read in one sitting."""
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULES = {path.stem: path for path in REPO.glob("*.py")}


def project_imports(path):
    """The project's modules that `path` imports anywhere in it (top level, functions, classes)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in MODULES)
    found.discard(path.stem)
    return found


def find_cycle(graph):
    """One cycle of the directed graph {node: set of nodes} as a list [a, b, ..., a], or None."""
    state = {}   # node -> "open" while on the current path, "done" once explored

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, path + [nxt])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [start])
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_only_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a2"}, "a2": set(), "b": {"c"}, "c": {"b"}}) == ["b", "c", "b"]


def test_the_import_reader_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "Example.py"
    module.write_text("import os\nimport DanceUtils\n\ndef later():\n    from GenGAN import GenGAN\n"
                      "    import VideoSkeleton as vs\n")
    assert project_imports(module) == {"DanceUtils", "GenGAN", "VideoSkeleton"}


def test_no_module_imports_one_that_imports_it_back():
    graph = {name: project_imports(path) for name, path in MODULES.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


MAX_MODULE_LINES = 550   # a module a newcomer reads in one sitting; past it, something in it has another job


def test_every_module_is_short_enough_to_read_in_one_sitting():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) >= MAX_MODULE_LINES}
    assert not long, f"modules of {MAX_MODULE_LINES} lines or more: {long}; move what is not their job elsewhere"

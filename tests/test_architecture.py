"""The house rules of docs/architecture.md that a linter does not check by itself: no import
cycle among nnx's modules (an import inside a function counts: it hides the cycle, it does
not remove it), no module longer than one sitting's read, every room in the layer order.
The layer order itself is `lint-imports` (pyproject.toml), run by `make lint` and
`make test`."""

import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def strongly_connected(graph):
    """The import cycles of `graph`: sets of two or more modules that reach one another."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(
                        graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                members = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == module:
                        break
                if len(members) > 1:
                    cycles.append(members)
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert strongly_connected(graph) == [{"p.a", "p.b", "p.c"}]


def test_no_module_of_nnx_imports_itself_round_a_cycle():
    graph = grimp.build_graph("nnx")
    assert strongly_connected(graph) == []


MAX_LINES = 400  # a module a newcomer reads in one sitting


def test_every_module_reads_in_one_sitting():
    long = {str(path.relative_to(ROOT)): n for path in sorted((ROOT / "nnx").rglob("*.py"))
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_room_of_nnx_has_its_row_in_the_layer_order():
    """A module the contract does not name is not checked at all: each new one must be
    given its place (pyproject.toml, and docs/architecture.md)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = config["tool"]["importlinter"]["contracts"]
    placed = {name.strip() for row in contract["layers"] for name in row.split("|")}
    rooms = {f"nnx.{path.stem}" for path in (ROOT / "nnx").iterdir()
             if (path.suffix == ".py" or (path / "__init__.py").is_file())
             and path.stem not in ("__init__", "__main__") and not path.is_symlink()}
    assert rooms - placed == set()
    assert placed - rooms == set()

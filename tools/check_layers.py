"""The layers hold: no arrow runs backwards, no import cycle, no production file over 400 lines.

    python tools/check_layers.py [ROOT] [--baseline FILE] [--write-baseline]

The arrows run one way: channels → handlers → services → storage. So storage never imports the
services, the handlers or the channels; the services never import the handlers, the channels, the
translations (bot/i18n.py), the presenters or the scans (a service says what is owed, a presenter words
it); the presenters never import the handlers, the channels, the scans or the scheduler; the scans
(bot/scans/) never import the handlers or the channels; the handlers never import the channels, nor
SQLAlchemy or the repositories (they call services; only the modules that open an update's transaction
hold the session); the scheduler and the delivery never import the handlers. Imports are read with
``ast`` from bot/, handlers/ and storage/ (not tests, benches or migrations), wherever they stand: at
module level, in a function, under ``if TYPE_CHECKING``.

A cycle counts among imports run when a module loads (module level, not under ``TYPE_CHECKING``); a
cycle closed only by imports inside functions is printed as a warning.

The tree does not keep every rule yet, so tools/layers_baseline.txt lists the known violations and the
check is a ratchet: it fails (exit 1) only on a violation not in the baseline — a new backward arrow, a
new cycle (a cycle within a known one is not new), a new file over the limit, a known big file that
grew. Baseline entries that no longer occur are printed so that they can be deleted (or rewritten with
``--write-baseline``, which records the tree as it is).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("bot", "handlers", "storage")
# Libraries whose imports are recorded too, for the rules that keep them to one layer.
LIBRARIES = ("sqlalchemy",)
EXCLUDED = ("storage/migrations",)
MAX_LINES = 400
# The handlers that own an update's transaction: handlers/__init__.py opens it (Conversations.handle, the one
# place for an update), context.py holds its repositories and marks the dialog's JSON changed, router.py tells
# a database that is away (is_transient) from a bug. They alone among the handlers may name SQLAlchemy and
# storage.repositories; every other handler calls services. Exact module names, not prefixes.
TRANSACTION_OWNERS = frozenset({"handlers", "handlers.context", "handlers.router"})
NONE: frozenset[str] = frozenset()
# (importing modules, modules they must not import, importing modules exempt by exact name), by dotted prefix.
RULES: tuple[tuple[tuple[str, ...], tuple[str, ...], frozenset[str]], ...] = (
    (("storage",), ("bot.services", "handlers", "bot.channels"), NONE),
    (("bot.services",), ("handlers", "bot.channels", "bot.i18n", "bot.presenters", "bot.scans"), NONE),
    (("bot.presenters",), ("handlers", "bot.channels", "bot.scans", "bot.scheduler"), NONE),
    (("bot.scans",), ("handlers", "bot.channels"), NONE),
    (("handlers",), ("bot.channels",), NONE),
    (("handlers",), ("sqlalchemy", "storage.repositories"), TRANSACTION_OWNERS),
    (("bot.scheduler", "bot.delivery"), ("handlers",), NONE),
)
BASELINE = Path("tools/layers_baseline.txt")


@dataclass
class Module:
    name: str
    path: str  # relative to the root, with "/"
    lines: int
    eager: set[str] = field(default_factory=set)  # imported when the module loads
    lazy: set[str] = field(default_factory=set)  # imported in a function or only for type checking


def _under(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def production_files(root: Path) -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if not _under(relative.replace("/", "."), [e.replace("/", ".") for e in EXCLUDED]):
                yield relative, path


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement and whether it runs when the module loads."""

    def walk(node: ast.AST, eager: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, eager
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from walk(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    yield from walk(ast.Module(body=[statement], type_ignores=[]), False)
                for statement in child.orelse:
                    yield from walk(ast.Module(body=[statement], type_ignores=[]), eager)
            else:
                yield from walk(child, eager)

    yield from walk(tree, True)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The project modules an import statement loads (a name imported from a package is the package)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    found = set()
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        found.add(candidate if candidate in known else base)
    return found


def scan(root: Path) -> dict[str, Module]:
    files = list(production_files(root))
    names = {_module_name(Path(relative)): (relative, path) for relative, path in files}
    known = set(names)
    modules: dict[str, Module] = {}
    for name, (relative, path) in names.items():
        text = path.read_text(encoding="utf-8")
        module = Module(name, relative, len(text.splitlines()))
        tree = ast.parse(text, filename=relative)
        for node, eager in _imports(tree):
            for target in _targets(node, name, path.name == "__init__.py", known):
                if _under(target, PACKAGES + LIBRARIES) and target != name:
                    (module.eager if eager else module.lazy).add(target)
        module.lazy -= module.eager
        modules[name] = module
    return modules


def backward_arrows(modules: dict[str, Module]) -> list[str]:
    found = []
    for module in modules.values():
        for target in sorted(module.eager | module.lazy):
            for sources, forbidden, exempt in RULES:
                if _under(module.name, sources) and _under(target, forbidden) and module.name not in exempt:
                    found.append(f"arrow {module.name} -> {target}")
                    break
    return sorted(found)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def cycles(modules: dict[str, Module], lazy: bool = False) -> list[str]:
    graph = {m.name: {t for t in (m.eager | m.lazy if lazy else m.eager) if t in modules} for m in modules.values()}
    return ["cycle " + " ".join(component) for component in _cycles(graph)]


def big_files(modules: dict[str, Module]) -> list[str]:
    return sorted(f"size {m.path} {m.lines}" for m in modules.values() if m.lines > MAX_LINES)


def violations(modules: dict[str, Module]) -> list[str]:
    return backward_arrows(modules) + cycles(modules) + big_files(modules)


def _tolerated(entry: str, baseline: set[str]) -> bool:
    """A known violation: a known arrow; a cycle within a known cycle; a known big file no bigger.

    A module moved into a package keeps its known arrows and cycles: ``a.b.c -> x.y`` is known when
    ``a.b -> x`` is (a file split into a package of smaller ones is no new violation)."""
    kind, _, rest = entry.partition(" ")
    if kind == "arrow":
        source, _, target = rest.partition(" -> ")
        return any(b_kind == "arrow" and _under(source, [b_source]) and _under(target, [b_target])
                   for b_kind, _, b_rest in (b.partition(" ") for b in baseline)
                   for b_source, _, b_target in [b_rest.partition(" -> ")])
    if kind == "cycle":
        return any(b.startswith("cycle ") and all(_under(m, b.split()[1:]) for m in rest.split()) for b in baseline)
    if kind == "size":
        path, lines = rest.rsplit(" ", 1)
        for b in baseline:
            b_kind, _, b_rest = b.partition(" ")
            if b_kind == "size" and b_rest.rsplit(" ", 1)[0] == path:
                return int(lines) <= int(b_rest.rsplit(" ", 1)[1])
        return False
    return False


def read_baseline(path: Path) -> set[str]:
    if not path.exists():
        return set()
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line for line in lines if line and not line.startswith("#")}


def check(root: Path, baseline_path: Path) -> tuple[int, list[str]]:
    """(exit code, lines to print) for the tree at ``root`` against the baseline."""
    modules = scan(root)
    found = violations(modules)
    baseline = read_baseline(baseline_path)
    report = []
    new = [v for v in found if not _tolerated(v, baseline)]
    for violation in new:
        report.append(f"NEW {violation}")
    sizes = {v.rsplit(" ", 1)[0]: v for v in found if v.startswith("size ")}
    for entry in sorted(baseline - set(found)):
        now = sizes.get(entry.rsplit(" ", 1)[0]) if entry.startswith("size ") else None
        if now is not None:
            if int(now.rsplit(" ", 1)[1]) < int(entry.rsplit(" ", 1)[1]):
                report.append(f"smaller now (lower it in {baseline_path.name}): {entry} -> {now}")
            continue
        covered = [v for v in found if _tolerated(v, {entry})]  # a split module's parts may still need it
        if not covered:
            report.append(f"gone (delete it from {baseline_path.name}): {entry}")
        elif entry.startswith("cycle "):
            report.append(f"smaller now (replace it in {baseline_path.name}): {entry} -> {'; '.join(covered)}")
    eager_cycles = {tuple(c.split()[1:]) for c in cycles(modules)}
    for entry in cycles(modules, lazy=True):
        members = tuple(entry.split()[1:])
        if not any(set(c) >= set(members) for c in eager_cycles):
            report.append(f"warning: {entry} (closed only by imports inside functions or for type checking)")
    if new:
        report.append(f"{len(new)} new layer violation(s): fix them (the arrows run channels → handlers → "
                      f"services → storage; files stay under {MAX_LINES} lines)")
    else:
        report.append(f"layers: no new violation ({len(found)} known in {baseline_path.name})")
    return (1 if new else 0), report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--baseline", type=Path, help=f"default: ROOT/{BASELINE}")
    parser.add_argument("--write-baseline", action="store_true", help="record today's violations as known")
    args = parser.parse_args(argv)
    baseline = args.baseline or args.root / BASELINE
    if args.write_baseline:
        found = violations(scan(args.root))
        baseline.write_text("# Known layer violations (tools/check_layers.py): delete a line once it is fixed.\n"
                            + "".join(f"{v}\n" for v in found), encoding="utf-8")
        print(f"{len(found)} violation(s) written to {baseline}")
        return 0
    code, report = check(args.root, baseline)
    print("\n".join(report))
    return code


if __name__ == "__main__":
    sys.exit(main())

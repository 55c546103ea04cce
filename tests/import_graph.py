"""The import graph of `src/storedesk`, read from the source with `ast` (nothing is imported).

Every import counts: module-level ones, those inside functions and those under
`TYPE_CHECKING`. Modules group into apps: `storedesk.<app>`, and one app per
`storedesk.integrations.<name>`; the project modules (`settings`, `urls`, `api`, `wsgi`, ...)
sit above every app and are left out. Run `python -m tests.import_graph` to print the graph.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src" / "storedesk"
PACKAGE = "storedesk"
# Packages that group apps without being one themselves.
GROUPS = {"integrations"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_of(module: str) -> str | None:
    """The app a module belongs to, or None for project modules and outside packages."""
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    if parts[1] in GROUPS:
        return f"{parts[1]}.{parts[2]}" if len(parts) > 2 else None
    if not (SOURCE / parts[1]).is_dir() or not (SOURCE / parts[1] / "apps.py").exists():
        return None
    return parts[1]


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, with `from a import b` read as `a.b` when b is a module."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if _is_module(candidate):
                    found.add(candidate)
    return found


def _is_module(module: str) -> bool:
    path = SOURCE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def module_graph() -> dict[str, set[str]]:
    """Module → the storedesk modules it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        graph[module_name(path)] = {
            name
            for name in imported_modules(path)
            if name.split(".")[0] == PACKAGE and _is_module(name)
        }
    return graph


def app_graph(modules: dict[str, set[str]] | None = None) -> dict[str, dict[str, list[str]]]:
    """App → app it imports → the `module -> module` imports that make the edge."""
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for source, targets in (modules or module_graph()).items():
        source_app = app_of(source)
        if source_app is None:
            continue
        for target in sorted(targets):
            target_app = app_of(target)
            if target_app is not None and target_app != source_app:
                edges[source_app][target_app].append(f"{source} -> {target}")
    return {app: dict(targets) for app, targets in edges.items()}


def cycles(graph: dict[str, set[str]] | dict[str, dict]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def main() -> None:
    apps = app_graph()
    for app in sorted(apps):
        print(f"{app} -> {', '.join(sorted(apps[app]))}")
    print("\napp cycles:")
    for component in cycles(apps):
        print("  " + " <-> ".join(component))
        for a in component:
            for b in component:
                for line in apps.get(a, {}).get(b, []):
                    print(f"      {line}")
    print("\nmodule cycles:")
    for component in cycles(module_graph()):
        print("  " + " <-> ".join(component))


if __name__ == "__main__":
    main()

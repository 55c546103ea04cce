"""App dependencies point one way: a test that fails on any import cycle between apps.

The graph is read from the source (`tests.import_graph`), counting imports inside functions
too, so a cycle cannot hide in a late import. Where a lower app must tell a higher one
something it records an outbox event (`core.events`) or calls a small registry the higher
app fills in its `AppConfig.ready()` (`commerce.extensions`, `core.webhooks.register_subject`).
"""

from tests.import_graph import app_graph, app_of, cycles, module_graph

# The apps from the bottom layer up (docs/architecture.md): each imports only apps before it.
LAYERS = [
    "core",
    "audit",
    "accounts",
    "commerce",
    "disputes",
    "desk",
    "gateways",
    "risk",
    "triage",
    "integrations.connections",
    "integrations.order_files",
    "integrations.carriers",
    "resolutions",
    "experience",
    "integrations.mail",
    "integrations.stripe",
    "integrations.paypal",
    "integrations.shopify",
    "integrations.woocommerce",
    "onboarding",
    "demo",
]

# Known edges that still close a cycle, each to be removed with the work that fixes it (as
# ("app", "imported app")); an allowance that no longer matches the code fails the test below,
# so none outlives its cycle. Empty, and to be kept so: a lower app that must tell a higher
# one goes through a registry the higher app fills (as `disputes.extensions` does).
ALLOWED_APP_EDGES: set[tuple[str, str]] = set()
# Module circles inside one app, likewise (each a sorted list of module names).
# connections' services enqueue its tasks and the tasks call its services (late imports both
# ways); to go when the tasks are queued through an outbox event instead.
ALLOWED_MODULE_CYCLES: list[list[str]] = []


def _describe(graph: dict[str, dict[str, list[str]]], component: list[str]) -> str:
    lines = [" <-> ".join(component)]
    for source in component:
        for target in component:
            lines.extend(f"    {line}" for line in graph.get(source, {}).get(target, []))
    return "\n".join(lines)


def test_no_import_cycle_between_apps():
    graph = app_graph()
    checked = {source: dict(targets) for source, targets in graph.items()}
    for source, target in ALLOWED_APP_EDGES:
        checked.get(source, {}).pop(target, None)
    found = cycles(checked)
    assert not found, "import cycles between apps:\n" + "\n".join(
        _describe(graph, component) for component in found
    )


def test_every_app_imports_only_the_layers_below_it():
    graph = app_graph()
    apps = {app_of(module) for module in module_graph()} - {None}
    unplaced = sorted(apps - set(LAYERS))
    assert not unplaced, f"place these apps in LAYERS (docs/architecture.md): {unplaced}"
    upward = [
        line
        for source, targets in graph.items()
        for target, lines in targets.items()
        if (source, target) not in ALLOWED_APP_EDGES and LAYERS.index(target) > LAYERS.index(source)
        for line in lines
    ]
    assert not upward, "imports pointing up a layer:\n" + "\n".join(upward)


def test_every_allowed_edge_still_exists():
    graph = app_graph()
    stale = [edge for edge in ALLOWED_APP_EDGES if edge[1] not in graph.get(edge[0], {})]
    assert not stale, f"remove these allowances, the imports are gone: {stale}"


def test_no_import_cycle_between_modules():
    found = [c for c in cycles(module_graph()) if c not in ALLOWED_MODULE_CYCLES]
    assert not found, "import cycles between modules:\n" + "\n".join(
        " <-> ".join(component) for component in found
    )
    stale = [c for c in ALLOWED_MODULE_CYCLES if c not in cycles(module_graph())]
    assert not stale, f"remove these allowances, the cycles are gone: {stale}"


def test_the_graph_sees_imports_inside_functions():
    """The cycle test is only as good as its graph: a late import must count as an edge."""
    # risk.review imports the desk's services inside a function, not at module level.
    assert "storedesk.desk.services" in module_graph()["storedesk.risk.review"]
    assert "desk" in app_graph()["risk"]


def test_a_cycle_is_found_and_named():
    graph = {"a": {"b": []}, "b": {"c": []}, "c": {"a": []}, "d": {"a": []}}
    assert cycles(graph) == [["a", "b", "c"]]

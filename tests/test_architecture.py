"""The import contract: dependencies point one way, down the layers of DESIGN.md, with no cycle.

Each module sits on a layer (the longest matching prefix below decides); a
module may import from its own layer and the ones below it, never from above.
Imports made only for type annotations (under ``TYPE_CHECKING``) do not count:
they are not dependencies at run time. ``make lint`` runs this file.
"""

from __future__ import annotations

import grimp
import pytest

LAYERS: list[tuple[str, ...]] = [
    # 0. plain helpers every layer may use
    ("errors", "version", "validation", "labels", "destinations", "scored", "compiled", "safety"),
    # 1. reading tables and encoding them
    ("data",),
    # 2. detectors (table and series) and thresholds
    (
        "thresholds",
        "detectors",
        "timeseries",
        "timeseries.base",
        "timeseries.spot",
        "timeseries.profile",
        "timeseries.seasonality",
        "timeseries.rolling",
        "timeseries.changes",
        "timeseries.decomposition",
        "timeseries.forecast",
        "timeseries.matrix_profile",
        "timeseries.windows",
        "timeseries.auto",
        "timeseries.conformal",
        "timeseries.neural",
        "timeseries.frame",
    ),
    # 3. explanations in words, what a fitted series holds, analysts' labels
    ("reasons", "timeseries.reasons", "timeseries.fitted", "feedback.store"),
    # 4. model files
    ("persist",),
    # 5. the models: THE scoring path
    ("model", "timeseries.model"),
    # 6. results over the data a model was fitted on
    ("result", "timeseries.result"),
    # 7. engines that run the scoring path elsewhere
    ("engines",),
    # 8. the front door
    ("api",),
    # 9. evaluation against labels
    ("evaluate", "benchmarking"),
    # 10. reports
    ("report",),
    # 11. consumers of the scoring path
    ("monitor", "feedback", "export", "explore"),
    # 12. the service
    ("service", "registry"),
    # 13. the command line
    ("cli",),
]
# The package's own __init__ is the public facade: it may import every layer.
FACADE = "anomalyzer"
# Upward imports that are part of the public interface, each with its reason.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    ("model", "export"): "Model.to_onnx is the public front of the ONNX export; it imports "
    "anomalyzer.export only when called.",
    ("model", "engines.dask"): "Model.score_dask hands the model to the Dask engine; it imports "
    "anomalyzer.engines.dask only when called.",
    ("model", "monitor.batch"): "Model.monitor is the public front of drift monitoring; it "
    "imports anomalyzer.monitor.batch only when called.",
}


def layer_of(module: str) -> int:
    name = module.removeprefix(f"{FACADE}.")
    best, rank = -1, -1
    for i, members in enumerate(LAYERS):
        for prefix in members:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    if rank < 0:
        pytest.fail(f"module {module} has no layer: add it to LAYERS in {__file__}")
    return rank


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(FACADE, exclude_type_checking_imports=True)


def test_every_import_points_down(graph):
    upward = []
    for importer in sorted(graph.modules):
        if importer == FACADE:
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported == FACADE:
                upward.append(f"{importer} imports the package facade {FACADE}")
                continue
            key = (importer.removeprefix(f"{FACADE}."), imported.removeprefix(f"{FACADE}."))
            if layer_of(imported) > layer_of(importer) and key not in ALLOWED_UPWARD:
                upward.append(f"{importer} (layer {layer_of(importer)}) imports {imported} "
                              f"(layer {layer_of(imported)})")  # fmt: skip
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_no_import_cycles(graph):
    """Tarjan's strongly connected components over the module graph: each must be one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def test_the_contract_fails_on_an_upward_import():
    """The check can fail: a detector importing the model would be reported."""
    assert layer_of("anomalyzer.model") > layer_of("anomalyzer.detectors.iforest")
    assert layer_of("anomalyzer.cli.detect") > layer_of("anomalyzer.service")

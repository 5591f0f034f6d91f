"""The import layering of STYLE.md: entry → orchestration → adapters → pure core → models.

Imports point down only; adapters never import each other; only the entry layer reads
settings; the pure core does no I/O (no network, database, Telegram or scheduler library).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"

ENTRY, ORCHESTRATION, ADAPTER, PURE, BASE = 0, 1, 2, 3, 4
LAYER_NAMES = ["entry", "orchestration", "adapter", "pure core", "base"]

# Longest prefix wins. The packages read as the pipeline: feeds are fetched (feeds), polled
# and matched (ingest, rules, text), spikes counted (spikes), alerts delivered (delivery,
# telegram), with the store under all of it; cli, service and config start the process.
LAYERS: dict[str, int] = {
    # Entry: the command line, the service's composition root, settings.
    "bot.__main__": ENTRY,
    "bot.cli": ENTRY,
    "bot.demo": ENTRY,
    "bot.config": ENTRY,
    "bot.service": ENTRY,
    # What the roles run, below the composition root: they never read settings.
    "bot.service.alarm": ORCHESTRATION,
    "bot.service.lead": ORCHESTRATION,
    "bot.service.notices": ORCHESTRATION,
    "bot.service.presence": ORCHESTRATION,
    "bot.service.retention": ORCHESTRATION,
    "bot.service.roles": ORCHESTRATION,
    "bot.service.supervise": ORCHESTRATION,
    "bot.logs": ENTRY,
    # Orchestration: polling, delivery, commands.
    "bot.ingest": ORCHESTRATION,
    # Delivery: the outbox to Telegram (sender, attempts, summaries, digests, duplicates,
    # audience); its send limits are pure arithmetic the Telegram edge shares.
    "bot.delivery": ORCHESTRATION,
    "bot.delivery.ratelimit": PURE,
    "bot.delivery.kinds": BASE,  # what an alert says: the store and the renderers share it
    "bot.delivery.llm": ADAPTER,
    "bot.control": ORCHESTRATION,
    "bot.watches": ORCHESTRATION,
    "bot.spikes": PURE,
    "bot.spikes.surges": ORCHESTRATION,
    # Adapters: the network, the database, Telegram, rule files on disk, metrics.
    "bot.metrics": ADAPTER,
    "bot.feeds": ADAPTER,
    "bot.store": ADAPTER,
    "bot.rules.load": ADAPTER,
    "bot.rules.edit": ADAPTER,
    "bot.rules.rulefile": ADAPTER,
    "bot.rules.bounded": ADAPTER,
    "bot.telegram": ADAPTER,
    "bot.telegram.doc": PURE,
    "bot.telegram.render": PURE,
    "bot.telegram.render_topic": PURE,
    "bot.telegram.render_parts": PURE,
    "bot.telegram.render_digest": PURE,
    "bot.telegram.render_spike": PURE,
    "bot.telegram.replies": PURE,
    "bot.telegram.replies_admin": PURE,
    "bot.telegram.i18n": PURE,
    "bot.telegram.chart": PURE,
    "bot.telegram.protocol": BASE,  # types the Telegram edge and its callers share
    # Pure core: text, matching.
    "bot.text": PURE,
    "bot.rules": PURE,
    # Base.
    "bot.models": BASE,
    "bot.clock": BASE,
    "bot.errors": BASE,
}

IO_LIBRARIES = {"httpx", "sqlalchemy", "alembic", "telegram", "apscheduler", "socket", "requests"}


def layer_of(module: str) -> int:
    if module == "bot":
        return BASE  # the package's __init__: the version string only
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise KeyError(module)


def package_of(module: str) -> str:
    """The adapter family a module belongs to (bot.feeds, bot.store, bot.telegram, ...)."""
    return ".".join(module.split(".")[:2])


def module_name(path: Path) -> str:
    rel = path.relative_to(BOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from bot.text import cluster`` imports the module bot.text.cluster
            submodules = [
                f"{node.module}.{a.name}" for a in node.names if _is_module(node.module, a.name)
            ]
            found += submodules or [node.module]
    return found


def _is_module(package: str, name: str) -> bool:
    path = BOT.parent.joinpath(*package.split("."), name)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def modules() -> list[Path]:
    return [p for p in BOT.rglob("*.py") if "migrations" not in p.parts]


@pytest.mark.parametrize("path", modules(), ids=lambda p: module_name(p))
def test_imports_point_down(path: Path) -> None:
    me = module_name(path)
    my_layer = layer_of(me)
    for imported in imports_of(path):
        if imported.split(".")[0] != "bot" or imported == "bot":
            continue
        theirs = layer_of(imported)
        same_family = package_of(imported) == package_of(me)
        if my_layer == ADAPTER and theirs == ADAPTER:
            assert same_family, f"{me} (adapter) imports another adapter {imported}"
            continue
        assert theirs > my_layer or (theirs == my_layer and my_layer != ADAPTER), (
            f"{me} ({LAYER_NAMES[my_layer]}) imports {imported} ({LAYER_NAMES[theirs]})"
        )


@pytest.mark.parametrize("path", modules(), ids=lambda p: module_name(p))
def test_only_entry_reads_settings(path: Path) -> None:
    me = module_name(path)
    if layer_of(me) == ENTRY:
        return
    assert "bot.config.settings" not in imports_of(path), f"{me} reads settings; pass values in"


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if layer_of(module_name(p)) >= PURE],
    ids=lambda p: module_name(p),
)
def test_pure_core_does_no_io(path: Path) -> None:
    roots = {name.split(".")[0] for name in imports_of(path)}
    assert not roots & IO_LIBRARIES, f"{module_name(path)} imports {roots & IO_LIBRARIES}"


def test_commands_do_not_reach_into_the_orchestrator() -> None:
    """``bot.control`` and the orchestrator are peers: commands get the rules from the one
    holder (``bot.rules.book``) and read URLs through ``bot.feeds.read``, never through
    ``bot.ingest`` (the pipeline or any of its stages)."""
    for path in (BOT / "control").rglob("*.py"):
        into = [m for m in imports_of(path) if m == "bot.ingest" or m.startswith("bot.ingest.")]
        assert not into, f"{module_name(path)} imports {into}"


def test_the_pipeline_stages_import_down_the_poll() -> None:
    """The poll's stages in ``bot.ingest`` import only stages after their own: the
    orchestrator takes the ingest, the ingest takes the alerts and the sightings, and none
    of them reaches back up to the orchestrator or the scheduler's jobs."""
    order = ["pipeline", "ingest", "alerts", "sightings", "state", "fresh", "options"]
    shared = {"bot.ingest.scheduler"}  # ``feed_interval``: the one interval rule
    for path in (BOT / "ingest").glob("*.py"):
        me = module_name(path).rsplit(".", 1)[-1]
        if me not in order:
            continue
        for imported in imports_of(path):
            if not imported.startswith("bot.ingest.") or imported in shared:
                continue
            theirs = imported.rsplit(".", 1)[-1]
            assert theirs in order and order.index(theirs) > order.index(me), (
                f"bot.ingest.{me} imports {imported}: a stage imports only those after "
                f"it ({' → '.join(order)}); name a new stage's place in ``order``"
            )


# The matcher's modules in ``bot.rules``, from the top down: the watches' and the topics'
# matchers; the scan of an item's fields, the topics' plans and the prepared fields they
# build on; the index of the patterns, then what it is made of; a pattern last. Each imports
# only those below it (``test_the_parts_of_a_split_package_import_down``): one job a module,
# and no cycle among them; name a new module's place here.
MATCHER_ORDER = [
    "watchset",
    "match",
    "scan",
    "plan",
    "prepare",
    "index",
    "spans",
    "automaton",
    "shape",
    "pieces",
    "words",
    "patterns",
]


def test_every_module_has_a_layer() -> None:
    for path in modules():
        layer_of(module_name(path))  # raises KeyError for an unclassified module


# What the delivery package builds on: the store, Telegram's rendering and errors, the
# metrics, the models, the one clock. Never the entry layer, the pipeline, the commands or
# the feeds.
DELIVERY_MAY_IMPORT = (
    "bot.delivery",
    "bot.models",
    "bot.clock",
    "bot.errors",
    "bot.metrics",
    "bot.text.cluster",
    "bot.store",
    "bot.telegram.render",
)


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if module_name(p).startswith("bot.delivery")],
    ids=lambda p: module_name(p),
)
def test_delivery_imports_only_what_it_builds_on(path: Path) -> None:
    for imported in imports_of(path):
        if imported.split(".")[0] != "bot" or imported == "bot":  # from bot import cluster
            continue
        assert imported.startswith(DELIVERY_MAY_IMPORT), f"{module_name(path)} imports {imported}"


# Inside the store, from the top down: the ``Store`` (and its coroutine twin), the areas
# whose methods it is made of, the database they run their transactions in, and the SQL
# modules underneath (functions on one connection, which know nothing of transactions).
STORE_LEVELS: dict[str, int] = {
    "bot.store": 0,
    "bot.store.store": 0,
    "bot.store.aio": 0,
    "bot.store.areas": 1,
    "bot.store.database": 2,
}
STORE_AREAS = BOT / "store" / "areas"


def store_level(module: str) -> int:
    for prefix, level in STORE_LEVELS.items():
        if module == prefix or (prefix != "bot.store" and module.startswith(prefix + ".")):
            return level
    return 3  # the SQL, the schema and the plumbing under it


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if module_name(p).startswith("bot.store")],
    ids=lambda p: module_name(p),
)
def test_store_imports_point_down(path: Path) -> None:
    me = module_name(path)
    for imported in imports_of(path):
        if imported.startswith("bot.store."):
            assert store_level(imported) >= store_level(me), f"{me} imports {imported}"


def _methods(path: Path) -> dict[str, list[str]]:
    """Each class of the file: the names it defines in its body."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name: [
            item.name
            for item in node.body
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }


def test_store_areas_name_each_method_once() -> None:
    """``Store`` inherits every area: a name two of them defined would silently be the one
    earlier in its bases, and the other area's method would never run."""
    owner: dict[str, str] = {}
    files = [BOT / "store" / "database.py", *sorted(STORE_AREAS.glob("*.py"))]
    for path in files:
        for cls, names in _methods(path).items():
            for name in names:
                assert name not in owner, f"{cls}.{name} and {owner[name]}.{name}"
                owner[name] = cls
    assert len(owner) > 80  # the areas were read: every method of the store


def test_store_is_made_of_every_area() -> None:
    from bot.store import Store
    from bot.store.database import Database

    areas = set()
    for path in STORE_AREAS.glob("*.py"):
        module = importlib.import_module(module_name(path))
        areas |= {
            cls
            for cls in vars(module).values()
            if isinstance(cls, type)
            and issubclass(cls, Database)
            and cls.__module__ == module.__name__
        }
    assert set(Store.__bases__) == areas


# A package split into parts: each module of a list imports only the listed modules after
# it (its other modules are free), so the parts read from the top down and never import
# the package's ``__init__``, which presents them.
PARTS_IMPORT_DOWN: dict[str, list[str]] = {
    "bot.spikes": ["surges", "detect", "fingerprints", "ledger", "model"],
    "bot.metrics": ["__init__", "prometheus", "recorder", "series", "health", "labels", "server"],
    "bot.telegram": ["updates", "application", "answers", "inbound", "protocol"],
    "bot.feeds": ["workers", "parse_worker", "parse"],
    "bot.rules": MATCHER_ORDER,
}


def _part(package: str, module: str) -> str | None:
    if module == package:
        return "__init__"
    head, _, name = module.rpartition(".")
    return name if head == package else None


@pytest.mark.parametrize(
    ("package", "path"),
    [
        (package, BOT.parent.joinpath(*package.split("."), f"{name}.py"))
        for package, names in PARTS_IMPORT_DOWN.items()
        for name in names
    ],
    ids=lambda v: v if isinstance(v, str) else v.stem,
)
def test_the_parts_of_a_split_package_import_down(package: str, path: Path) -> None:
    order = PARTS_IMPORT_DOWN[package]
    me = path.stem
    for imported in imports_of(path):
        theirs = _part(package, imported)
        if theirs is None or theirs not in order:
            continue
        assert order.index(theirs) > order.index(me), (
            f"{module_name(path)} imports {imported}: in {package} a part imports only "
            f"those after it ({' → '.join(order)})"
        )


def test_ledgers_keep_to_the_contract_not_the_detector() -> None:
    """The store's spike ledger and the dry run's keep to ``bot.spikes.ledger`` with the
    data of ``bot.spikes.model``; neither imports the detector that asks them."""
    ledgers = [*(BOT / "store").rglob("*.py"), BOT / "spikes" / "memory.py"]
    for path in ledgers:
        assert "bot.spikes.detect" not in imports_of(path), module_name(path)


def _runtime_imports(path: Path) -> set[str]:
    """The ``bot`` modules ``path`` imports when it runs: not those under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {
                f"{node.module}.{a.name}" if _is_module(node.module, a.name) else node.module
                for a in node.names
            }
    return {name for name in found if name.split(".")[0] == "bot"}


def test_no_import_cycles() -> None:
    """No module imports, through others, itself: splitting a module must not tie its
    parts back together (imports for type checking only are left out)."""
    graph = {module_name(p): _runtime_imports(p) for p in modules()}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("import cycle: " + " → ".join(cycle))
        if module in done or module not in graph:
            return
        for imported in sorted(graph[module] - {module}):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])

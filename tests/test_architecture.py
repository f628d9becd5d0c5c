"""The import contract of the layered package, checked statically on every run of the suite.

The package is built in layers so that low layers (the model, the tokenizer, the data) stay usable
without the training stack and without Hydra; an upward import silently undoes that, and often only
shows up much later as an import cycle. The checker parses every source file with :mod:`ast`, so it
sees imports that never run in a test (inside functions, ``try`` blocks, ``if TYPE_CHECKING``) and
costs no import of torch. Code under ``if __name__ == "__main__":`` only runs as a program: it is an
entry point wherever it is, exempt from the layer and Hydra rules and left out of the cycle graph.

Lowest layer first; a module may import its own layer and lower ones only::

    0  biogpt (the package root: lazy re-exports, no imports of biogpt modules), biogpt.optional
       (imports of optional dependencies, with their install hint), biogpt.errors and biogpt.textfiles
       (user-facing errors, and the parsing of users' files that raises them: one layer)
    1  biogpt.model.*, biogpt.tokenizer.* (siblings: neither imports the other)
    2  biogpt.data.*
    3a biogpt.prompts
    3b biogpt.generation.*
    4  biogpt.evaluation.*
    5  biogpt.training.*
    6  biogpt.artifacts.*
    7  biogpt.extraction.* (a saved model applied to texts and corpora: one inference path)
    8  biogpt.serving.* (that path behind HTTP)
    9  biogpt.experiment.* (the only library code that may import hydra or omegaconf)
    10 entry points: biogpt.cli, the ``python -m`` aliases and the root scripts

A module in no layer is itself a violation, so a new folder cannot slip past the contract.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "biogpt"
ENTRY_SCRIPTS = ("train.py", "pretrain.py", "evaluate.py")


@dataclass(frozen=True)
class Layer:
    """A rank in the import order; layers of equal rank but different names are siblings."""

    rank: int
    name: str


ROOT_LAYER = Layer(0, "layer 0 (package root)")
EXPERIMENT_LAYER = Layer(10, "layer 9 (experiment)")
ENTRY_LAYER = Layer(11, "layer 10 (entry point)")
USER_FILES_LAYER = Layer(0, "layer 0 (user-facing errors)")
# Package prefixes, each covering the module of that name and everything below it.
LAYERS: dict[str, Layer] = {
    "biogpt.optional": Layer(0, "layer 0 (optional dependencies)"),
    "biogpt.errors": USER_FILES_LAYER,
    "biogpt.textfiles": USER_FILES_LAYER,
    "biogpt.model": Layer(1, "layer 1 (model)"),
    "biogpt.tokenizer": Layer(1, "layer 1 (tokenizer)"),
    "biogpt.data": Layer(2, "layer 2 (data)"),
    "biogpt.prompts": Layer(3, "layer 3a (prompts)"),
    "biogpt.generation": Layer(4, "layer 3b (generation)"),
    "biogpt.evaluation": Layer(5, "layer 4 (evaluation)"),
    "biogpt.training": Layer(6, "layer 5 (training)"),
    "biogpt.artifacts": Layer(7, "layer 6 (artifacts)"),
    "biogpt.extraction": Layer(8, "layer 7 (extraction)"),
    "biogpt.serving": Layer(9, "layer 8 (serving)"),
    "biogpt.experiment": EXPERIMENT_LAYER,
}
# Exact module names (a package of one of these names would have to be classified anew).
ENTRY_POINTS = frozenset(
    {"biogpt.cli", "biogpt.generate", "biogpt.report", "biogpt.demo", "biogpt.convert"}
    | {"biogpt.extract", "biogpt.serve"}
    | {script.removesuffix(".py") for script in ENTRY_SCRIPTS}
)
# Imports forbidden inside a layer: the network knows no file format, and the weight files know no
# network (biogpt.model.pretrained joins them).
FORBIDDEN_WITHIN = {
    "biogpt.model.network": ("biogpt.model.weights", "biogpt.model.pretrained"),
    "biogpt.model.weights": ("biogpt.model.network", "biogpt.model.pretrained"),
    "biogpt.model.config": ("biogpt.model.network", "biogpt.model.pretrained", "biogpt.model.weights"),
    "biogpt.model.safe_pickle": ("biogpt.model.network", "biogpt.model.pretrained"),
}
CONFIG_LIBRARIES = frozenset({"hydra", "omegaconf"})


@dataclass(frozen=True)
class Source:
    """One parsed file: its dotted module name, and whether it is a package's ``__init__``."""

    path: Path
    module: str
    is_package: bool
    tree: ast.Module


@dataclass(frozen=True)
class Import:
    """One imported module (absolute, resolved to a submodule where the name is one)."""

    line: int
    target: str
    in_main_block: bool


def _covers(prefix: str, module: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str) -> Layer | None:
    """The layer of a module, or None for one the contract does not know (a violation in itself)."""
    if module == PACKAGE:
        return ROOT_LAYER
    if module in ENTRY_POINTS:
        return ENTRY_LAYER
    return next((layer for prefix, layer in LAYERS.items() if _covers(prefix, module)), None)


def read_sources(root: Path) -> list[Source]:
    """The package's modules and the root scripts under ``root``, parsed."""
    paths = sorted((root / PACKAGE).rglob("*.py")) + [
        root / script for script in ENTRY_SCRIPTS if (root / script).is_file()
    ]
    sources = []
    for path in paths:
        parts = path.relative_to(root).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        sources.append(Source(path, module, is_package, tree))
    return sources


def _is_main_guard(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = (test.left, test.comparators[0])
    return any(isinstance(side, ast.Name) and side.id == "__name__" for side in sides) and any(
        isinstance(side, ast.Constant) and side.value == "__main__" for side in sides
    )


def _walk(node: ast.AST, in_main_block: bool) -> Iterator[tuple[ast.AST, bool]]:
    """Every node below ``node``, with whether it only runs as a program (the else branch does not)."""
    yield node, in_main_block
    if isinstance(node, ast.If) and _is_main_guard(node.test):
        for child in node.body:
            yield from _walk(child, True)
        for child in node.orelse:
            yield from _walk(child, in_main_block)
        return
    for child in ast.iter_child_nodes(node):
        yield from _walk(child, in_main_block)


def root_exports(sources: list[Source]) -> dict[str, str]:
    """The root's lazy re-exports (``_EXPORTS``): ``from biogpt import BioGPT`` imports their module."""
    for source in sources:
        if source.module != PACKAGE:
            continue
        for node in source.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            else:
                continue
            if isinstance(target, ast.Name) and target.id == "_EXPORTS":
                return ast.literal_eval(value)
    return {}


def collect_imports(source: Source, modules: set[str], exports: dict[str, str]) -> list[Import]:
    """Every import in the file, wherever it is, with relative and ``from`` imports resolved."""
    imports = []
    package = source.module if source.is_package else source.module.rpartition(".")[0]
    for node, in_main_block in _walk(source.tree, False):
        if isinstance(node, ast.Import):
            imports += [Import(node.lineno, alias.name, in_main_block) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                if node.level - 1 >= len(parts):
                    raise ValueError(f"{source.path}:{node.lineno}: relative import beyond the top package")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in modules:
                    target = submodule
                elif base == PACKAGE and alias.name in exports:
                    target = exports[alias.name]
                else:
                    target = base
                imports.append(Import(node.lineno, target, in_main_block))
    return imports


def _rule_broken(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import the biogpt module ``imported`` (both classified), if it may not."""
    source, target = layer_of(importer), layer_of(imported)
    assert source is not None and target is not None
    if target.rank > source.rank:
        return f"{source.name} imports from higher {target.name}"
    if target.rank == source.rank and target != source:
        return f"{source.name} imports from its sibling {target.name}"
    for prefix, forbidden in FORBIDDEN_WITHIN.items():
        if _covers(prefix, importer):
            for name in forbidden:
                if _covers(name, imported):
                    return f"{importer} must not import {name}"
    return None


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a chain (first module repeated last, the smallest first), or [] for none."""
    # Each module's imports must come before it; graphlib names a cycle that makes this impossible.
    sorter = graphlib.TopologicalSorter({module: sorted(graph[module]) for module in sorted(graph)})
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        ring = list(reversed(error.args[1]))[:-1]  # graphlib lists importees first
        start = ring.index(min(ring))
        ring = ring[start:] + ring[:start]
        return [*ring, ring[0]]
    return []


def find_violations(root: Path) -> list[str]:
    """Every breach of the contract in the tree at ``root``, as ``path:line: importer -> imported: rule``."""
    sources = read_sources(root)
    modules = {source.module for source in sources}
    exports = root_exports(sources)
    violations: list[str] = []
    graph: dict[str, set[str]] = {}
    first_seen: dict[tuple[str, str], str] = {}
    for source in sources:
        where = source.path.relative_to(root)
        layer = layer_of(source.module)
        if layer is None:
            violations.append(f"{where}:1: {source.module}: module is in no layer; classify it in LAYERS")
            continue
        graph.setdefault(source.module, set())
        for found in collect_imports(source, modules, exports):
            message = f"{where}:{found.line}: {source.module} -> {found.target}: "
            top = found.target.partition(".")[0]
            if top in CONFIG_LIBRARIES:
                if not found.in_main_block and layer.rank < EXPERIMENT_LAYER.rank:
                    violations.append(message + f"{top} may only be imported by layers 7 and 8")
                continue
            if top != PACKAGE or found.target == source.module:
                continue
            if found.target not in modules:
                violations.append(message + "no such module")
            elif layer_of(found.target) is None:
                continue  # reported once, as the unclassified module itself
            elif not found.in_main_block:
                rule = _rule_broken(source.module, found.target)
                if rule is not None:
                    violations.append(message + rule)
                graph[source.module].add(found.target)
                first_seen.setdefault((source.module, found.target), f"{where}:{found.line}")
    cycle = find_cycle(graph)
    if cycle:
        steps = [f"{a} -> {b} ({first_seen[a, b]})" for a, b in zip(cycle, cycle[1:], strict=False)]
        violations.append(f"{first_seen[cycle[0], cycle[1]]}: import cycle: " + ", ".join(steps))
    return violations


def test_library_honours_the_import_contract() -> None:
    violations = find_violations(PROJECT_ROOT)
    assert not violations, "import contract broken:\n" + "\n".join(violations)


def test_every_module_and_entry_script_is_checked() -> None:
    """Guards the checker itself: a glob gone wrong would make the contract pass vacuously."""
    modules = {source.module for source in read_sources(PROJECT_ROOT)}
    assert {"biogpt", "biogpt.cli", "biogpt.model.network", "biogpt.experiment.finetune"} <= modules
    assert {script.removesuffix(".py") for script in ENTRY_SCRIPTS} <= modules


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_checker_reports_deliberate_violations(tmp_path: Path) -> None:
    """The contract demonstrably fails: one breach of each kind, and nothing reported for legal imports
    (generation -> prompts, hydra in the experiment layer and the CLI, a ``__main__`` block's imports)."""
    _write(
        tmp_path,
        {
            "biogpt/__init__.py": '_EXPORTS = {"BioGPT": "biogpt.model"}\n',
            "biogpt/model/__init__.py": "",
            "biogpt/model/network.py": "",
            "biogpt/model/weights.py": "def load():\n    from biogpt.model import network\n",
            "biogpt/model/x.py": "from biogpt.experiment import y\n",
            "biogpt/tokenizer/__init__.py": "from biogpt import BioGPT\n",
            "biogpt/data/__init__.py": "",
            "biogpt/data/a.py": "from . import b\n",
            "biogpt/data/b.py": "try:\n    from .a import thing\nexcept ImportError:\n    pass\n",
            "biogpt/data/c.py": (
                "import biogpt.data.missing\n"
                'if __name__ == "__main__":\n    import hydra\n    from biogpt.cli import main\n'
            ),
            "biogpt/prompts.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import biogpt.generation.decoding\n"
            ),
            "biogpt/generation/__init__.py": "from biogpt import prompts\n",
            "biogpt/generation/decoding.py": "",
            "biogpt/training/__init__.py": "import hydra\n",
            "biogpt/training/t.py": "class T:\n    def f(self):\n        from omegaconf import OmegaConf\n",
            "biogpt/experiment/__init__.py": "",
            "biogpt/experiment/y.py": "import hydra.utils\nfrom omegaconf import DictConfig\n",
            "biogpt/cli.py": "import hydra\nimport biogpt.data.c\nfrom biogpt.experiment.y import run\n",
            "biogpt/plugins/p.py": "import biogpt.model\n",
            "train.py": "from biogpt.cli import main\n",
        },
    )
    assert sorted(find_violations(tmp_path)) == [
        "biogpt/data/a.py:1: import cycle: biogpt.data.a -> biogpt.data.b (biogpt/data/a.py:1), "
        "biogpt.data.b -> biogpt.data.a (biogpt/data/b.py:2)",
        "biogpt/data/c.py:1: biogpt.data.c -> biogpt.data.missing: no such module",
        "biogpt/model/weights.py:2: biogpt.model.weights -> biogpt.model.network: "
        "biogpt.model.weights must not import biogpt.model.network",
        "biogpt/model/x.py:1: biogpt.model.x -> biogpt.experiment.y: "
        "layer 1 (model) imports from higher layer 9 (experiment)",
        "biogpt/plugins/p.py:1: biogpt.plugins.p: module is in no layer; classify it in LAYERS",
        "biogpt/prompts.py:3: biogpt.prompts -> biogpt.generation.decoding: "
        "layer 3a (prompts) imports from higher layer 3b (generation)",
        "biogpt/tokenizer/__init__.py:1: biogpt.tokenizer -> biogpt.model: "
        "layer 1 (tokenizer) imports from its sibling layer 1 (model)",
        "biogpt/training/__init__.py:1: biogpt.training -> hydra: "
        "hydra may only be imported by layers 7 and 8",
        "biogpt/training/t.py:3: biogpt.training.t -> omegaconf: "
        "omegaconf may only be imported by layers 7 and 8",
    ]

"""Method registry: name -> (module class, config class), found by discovery.

Adding a method is one new file in this package that ends with ``ENTRIES = {name: (module class,
config class, summary)}``: no shared file is edited, so no other method's stages change
(``module_files`` gives each method's stages the files it really runs). A method published as its
own package registers through the entry-point group ``ptbench.methods`` (docs/plugins.md).
"""
from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ptbench.errors import ConfigError, require_choice
from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod

PACKAGE_DIR = Path(__file__).resolve().parent
SHARED_FILES = ("__init__.py", "base.py")  # every method runs the registry and the base classes
ENTRY_POINT_GROUP = "ptbench.methods"


@dataclass(frozen=True)
class MethodEntry:
    module: type[PeftMethod]
    config: type[MethodConfig]
    summary: str
    source: str = "ptbench"  # the distribution that registered it (a plugin's package name)


METHODS: dict[str, MethodEntry] = {}
# plugin package -> why it was not registered (import error, a name taken, a malformed ENTRIES): the
# built-ins and the other plugins stay usable; naming its method, or `ptbench methods`, shows the error
PLUGIN_ERRORS: dict[str, str] = {}


def register(name: str, module: type[PeftMethod], config: type[MethodConfig], summary: str,
             source: str = "ptbench") -> None:
    if name in METHODS:
        raise ConfigError(f"method {name!r} registered twice: by {METHODS[name].source} and by {source}")
    METHODS[name] = MethodEntry(module, config, summary, source)


def _register_module(module, source: str, required: bool = True) -> None:
    """Check every entry first, then register them all (a bad plugin registers none). A built-in module
    without ENTRIES is a helper of the package (``required`` false), a plugin's must have them."""
    entries = getattr(module, "ENTRIES", None)
    if entries is None and not required:
        return
    if not isinstance(entries, dict):
        raise ConfigError(f"{source}: module {module.__name__} has no ENTRIES mapping name -> (module, config, summary)")
    checked = []
    for name, entry in entries.items():
        try:
            cls, config, summary = entry
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: ENTRIES[{name!r}] must be (module class, config class, summary)") from None
        if not (isinstance(cls, type) and issubclass(cls, PeftMethod) and isinstance(config, type)
                and issubclass(config, MethodConfig) and dataclasses.is_dataclass(config)):
            raise ConfigError(f"{source}: ENTRIES[{name!r}] must name a PeftMethod subclass and a MethodConfig dataclass")
        if name in METHODS:
            raise ConfigError(f"{source}: method {name!r} is already registered by {METHODS[name].source}")
        try:
            config.from_params(name, {})  # its defaults must make a valid config
        except ConfigError as exc:
            raise ConfigError(f"{source}: the default config of {name!r} is invalid: {exc}") from None
        checked.append((name, cls, config, summary))
    for name, cls, config, summary in checked:
        register(name, cls, config, summary, source)


def _discover_builtins() -> None:
    for info in sorted(pkgutil.iter_modules([str(PACKAGE_DIR)]), key=lambda i: i.name):
        if info.name != "base":
            _register_module(importlib.import_module(f"{__name__}.{info.name}"), "ptbench", required=False)


def _discover_plugins() -> None:
    """Methods of other installed packages (entry points ``ptbench.methods``: a module with ``ENTRIES``).
    A plugin that fails gets one error naming its package; the built-ins are registered before it."""
    from importlib.metadata import entry_points

    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        package = point.dist.name if point.dist is not None else point.value
        try:
            module = point.load()
        except Exception as exc:  # a broken plugin: say which, never a traceback from inside it
            PLUGIN_ERRORS[package] = (f"plugin package {package!r} (entry point {point.name} = {point.value}) "
                                      f"failed to import: {type(exc).__name__}: {exc}")
            continue
        try:
            _register_module(module, package)
        except ConfigError as exc:
            PLUGIN_ERRORS[package] = f"plugin package {package!r}: {exc}"


_discover_builtins()
_discover_plugins()


def get_method(name: str) -> MethodEntry:
    if name not in METHODS and PLUGIN_ERRORS:
        raise ConfigError(f"method: unknown value {name!r}; plugins not registered: " + "; ".join(PLUGIN_ERRORS.values()))
    require_choice("method", name, sorted(METHODS))
    return METHODS[name]


def method_config(name: str, section: dict[str, Any] | None, key: str | None = None) -> MethodConfig:
    """``key``: where params.yaml set ``section`` (errors name it; default ``methods.<name>``)."""
    return get_method(name).config.from_params(name, section, key)


def build_method(name: str, config: MethodConfig, ctx: BackboneContext) -> PeftMethod:
    """The method built for ``ctx``, whose vocabulary sampling pool is the config's ``vocab_pool``."""
    return get_method(name).module(config, dataclasses.replace(ctx, vocab_sample_size=config.vocab_pool))


def _sibling_imports(path: Path) -> set[str]:
    """The modules of this package a module's source imports (``ptbench.methods.x`` or relative)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.module and node.module.startswith(f"{__name__}."):
                found.add(node.module.split(".")[2])
            elif node.module == __name__ or (node.level == 1 and node.module is None):
                found.update(alias.name for alias in node.names)
            elif node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[2] for a in node.names if a.name.startswith(f"{__name__}."))
    return {name for name in found if (PACKAGE_DIR / f"{name}.py").is_file()}


def module_files(name: str) -> list[str]:
    """The files of this package method ``name`` runs (names relative to it): the registry, the base
    classes, its module and the sibling modules that imports, transitively. A built-in method's
    stages depend on exactly these; a plugin's on none of them but the shared ones."""
    entry = get_method(name)
    module = entry.module.__module__
    if not module.startswith(f"{__name__}."):
        return list(SHARED_FILES)
    todo, seen = [module.split(".")[2]], set()
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(_sibling_imports(PACKAGE_DIR / f"{current}.py") - seen)
    return sorted(set(SHARED_FILES) | {f"{m}.py" for m in seen})

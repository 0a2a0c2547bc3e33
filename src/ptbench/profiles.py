"""Profiles: presets of the keys that differ between a CPU smoke run and the papers' grid.

``ptbench profile paper`` writes ``profiles/paper.yaml``'s keys into params.yaml (comments kept;
``methods`` is merged knob by knob, every other key replaced whole),
so params.yaml always holds exactly what runs, and DVC sees one ordinary params change.
"""
from __future__ import annotations

import io
from pathlib import Path

import yaml

from ptbench.config import parse_params
from ptbench.errors import ConfigError, require_choice

PROFILE_DIR = Path("profiles")


def available(profile_dir: Path = PROFILE_DIR) -> list[str]:
    return sorted(p.stem for p in profile_dir.glob("*.yaml"))


def load_profile(name: str, profile_dir: Path = PROFILE_DIR) -> dict:
    require_choice("profile", name, available(profile_dir))
    overlay = yaml.safe_load((profile_dir / f"{name}.yaml").read_text()) or {}
    if not isinstance(overlay, dict):
        raise ConfigError(f"profiles/{name}.yaml: must be a mapping of params.yaml keys")
    return overlay


def merge_method_knobs(methods, overlay: object, profile: str) -> None:
    if not isinstance(overlay, dict):
        raise ConfigError(f"profiles/{profile}.yaml: methods must map method names to knobs")
    for method, knobs in overlay.items():
        if method not in methods or not isinstance(knobs, dict):
            raise ConfigError(f"profiles/{profile}.yaml: methods.{method} must name a method of params.yaml "
                              "and map its knobs to values")
        for knob, value in knobs.items():
            methods[method][knob] = value


def apply_profile(name: str, params_path: Path, profile_dir: Path = PROFILE_DIR) -> list[str]:
    """Rewrite params.yaml with the profile's keys; validate the result before writing it."""
    from ruamel.yaml import YAML

    load_profile(name, profile_dir)  # validates the name and the shape
    rt = YAML()
    rt.preserve_quotes = True
    # the profile read round-trip too, so every scalar keeps its spelling (a float such as 0.00001
    # would otherwise be written back as 1e-05, which YAML 1.1 readers take for a string)
    overlay = rt.load((profile_dir / f"{name}.yaml").read_text())
    document = rt.load(params_path.read_text())
    unknown = sorted(set(overlay) - set(document))
    if unknown:
        raise ConfigError(f"profiles/{name}.yaml: key(s) {', '.join(unknown)} are not in {params_path}")
    for key, value in overlay.items():
        if key == "methods":  # per-method knobs: merged into each method's section, the rest kept
            merge_method_knobs(document["methods"], value, name)
        else:
            document[key] = value
    document["profile"] = name
    buffer = io.StringIO()
    rt.dump(document, buffer)
    parse_params(yaml.safe_load(buffer.getvalue()))  # never write an invalid params.yaml
    params_path.write_text(buffer.getvalue())
    return sorted(overlay)

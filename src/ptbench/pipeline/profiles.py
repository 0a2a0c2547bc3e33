"""Profiles: presets of the keys that differ between a CPU smoke run and the papers' grid.

``ptbench profile paper`` writes ``profiles/paper.yaml``'s keys into params.yaml, so params.yaml always
holds exactly what runs, and DVC sees one ordinary params change. A profile is a pure function of its
name: it is composed on the base profile (``profiles/smoke.yaml``, which sets every key and method knob
any profile sets; a profile that sets anything else is refused), never on what params.yaml held before,
so "paper-001 after paper-003" is "paper-001". Composing: the profile's keys replace the base's whole,
except ``methods``, merged knob by knob (a profile names only the knobs its seed states). The file keeps
its layout: values are updated in place, so comments, block or flow style and a number's spelling stay
wherever the value does not change, and applying the profile params.yaml already holds changes nothing; a
rewritten value's comment goes back to its block's column (``realigned_comments``), and a profile file's
own comments never enter params.yaml (``without_comments``), so any profiles then the base profile give
back params.yaml word for word.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import yaml

from ptbench.config import parse_params
from ptbench.errors import ConfigError, require_choice

PROFILE_DIR = Path("profiles")
BASE_PROFILE = "smoke"  # every profile is composed on it: it sets every key and method knob any profile sets


def available(profile_dir: Path = PROFILE_DIR) -> list[str]:
    return sorted(p.stem for p in profile_dir.glob("*.yaml"))


def load_profile(name: str, profile_dir: Path = PROFILE_DIR) -> dict:
    require_choice("profile", name, available(profile_dir))
    overlay = yaml.safe_load((profile_dir / f"{name}.yaml").read_text()) or {}
    if not isinstance(overlay, dict):
        raise ConfigError(f"profiles/{name}.yaml: must be a mapping of params.yaml keys")
    return overlay


def _same(current: object, value: object) -> bool:
    """Equal as YAML data (1 is not true, 1 is 1.0 only as numbers)."""
    return current == value and isinstance(current, bool) == isinstance(value, bool)


def set_in_place(document, key, value) -> None:
    """``document[key] = value``, keeping the node that is there: a mapping is updated key by key (keys
    the value lacks are removed), a list's items are replaced inside the same list, an equal scalar is
    left as written. Only what changes is rewritten, in the overlay's spelling."""
    current = document.get(key)
    if isinstance(current, dict) and isinstance(value, dict) and current and value:  # (an emptied block
        # mapping cannot be written back in its style: an empty one is replaced whole)
        for stale in [k for k in current if k not in value]:
            del current[stale]
        for k, v in value.items():
            set_in_place(current, k, v)
        if hasattr(current, "move_to_end") and list(current) != list(value):  # the value's order, comments kept
            for k in value:
                current.move_to_end(k)
    elif isinstance(current, list) and isinstance(value, list) and current and value:
        if len(current) != len(value) or not all(_same(a, b) for a, b in zip(current, value)):
            current[:] = value
    elif key not in document or not _same(current, value):
        document[key] = value


def merge_method_knobs(methods, overlay: object, profile: str) -> None:
    if not isinstance(overlay, dict):
        raise ConfigError(f"profiles/{profile}.yaml: methods must map method names to knobs")
    for method, knobs in overlay.items():
        if method not in methods or not isinstance(knobs, dict):
            raise ConfigError(f"profiles/{profile}.yaml: methods.{method} must name a method of params.yaml "
                              "and map its knobs to values")
        for knob, value in knobs.items():
            set_in_place(methods[method], knob, value)


def _round_trip_yaml():
    from ruamel.yaml import YAML

    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap a line of params.yaml
    # null as params.yaml writes it (ruamel's default is an empty value)
    rt.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return rt


def uncovered(base, overlay) -> list[str]:
    """What ``overlay`` sets that the base profile does not: such a value would survive into the next
    profile applied, so that profile would depend on the one before it."""
    out = [key for key in overlay if key not in base]
    for method, knobs in (overlay.get("methods") or {}).items():
        base_knobs = (base.get("methods") or {}).get(method)
        if base_knobs is None:
            out.append(f"methods.{method}")
            continue
        out += [f"methods.{method}.{knob}" for knob in knobs if knob not in base_knobs]
    return out


def without_comments(node):
    """``node`` rebuilt without the comments its profile file attached to it (a profile's own comments, e.g.
    "none in this profile", must not land in params.yaml), keeping its flow or block style and each
    scalar's spelling."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, (CommentedMap, CommentedSeq)):
        out = CommentedMap() if isinstance(node, CommentedMap) else CommentedSeq()
        if node.fa.flow_style():
            out.fa.set_flow_style()
        if isinstance(node, CommentedMap):
            for key, value in node.items():
                out[key] = without_comments(value)
        else:
            out.extend(without_comments(value) for value in node)
        return out
    return node


def composed_overlay(name: str, profile_dir: Path, rt):
    """The base profile with ``name``'s keys set: what params.yaml will hold of every key a profile sets."""
    base = rt.load((profile_dir / f"{BASE_PROFILE}.yaml").read_text())
    if name == BASE_PROFILE:
        return {key: without_comments(value) for key, value in base.items()}
    overlay = rt.load((profile_dir / f"{name}.yaml").read_text())
    methods = overlay.get("methods", {})
    if not isinstance(methods, dict) or not all(isinstance(knobs, dict) for knobs in methods.values()):
        raise ConfigError(f"profiles/{name}.yaml: methods must map method names to their knobs")
    missing = uncovered(base, overlay)
    if missing:
        raise ConfigError(f"profiles/{name}.yaml: sets {', '.join(missing)}, which profiles/{BASE_PROFILE}.yaml (the "
                          f"base every profile is composed on) does not set: add it there with params.yaml's value")
    composed = {key: without_comments(value) for key, value in base.items()}
    for key, value in overlay.items():
        value = without_comments(value)
        if key == "methods":  # per-method knobs: the base's, with those the profile names changed
            composed["methods"] = {method: {**knobs, **(value.get(method) or {})}
                                   for method, knobs in composed["methods"].items()}
        else:
            composed[key] = value
    return composed


def merged_document(name: str, params_path: Path, profile_dir: Path = PROFILE_DIR, rt=None):
    """params.yaml with the profile (composed on the base) set: a round-trip document; nothing written."""
    load_profile(name, profile_dir)  # validates the name and the shape
    require_choice("the base profile", BASE_PROFILE, available(profile_dir))
    rt = rt or _round_trip_yaml()
    # the profiles read round-trip too, so every scalar keeps its spelling (a float such as 0.00001
    # would otherwise be written back as 1e-05, which YAML 1.1 readers take for a string)
    overlay = composed_overlay(name, profile_dir, rt)
    document = rt.load(Path(params_path).read_text())
    unknown = sorted(set(overlay) - set(document))
    if unknown:
        raise ConfigError(f"profiles/{name}.yaml: key(s) {', '.join(unknown)} are not in {params_path}")
    for key, value in overlay.items():
        if key == "methods":  # per-method knobs: merged into each method's section, the rest kept
            merge_method_knobs(document["methods"], value, name)
        else:
            set_in_place(document, key, value)
    set_in_place(document, "profile", name)
    return document


def resolved_data(name: str, params_path: Path, profile_dir: Path = PROFILE_DIR) -> dict:
    """What ``ptbench profile <name>`` would write, as plain data (nothing written, nothing validated)."""
    import json

    return json.loads(json.dumps(merged_document(name, params_path, profile_dir)))


def apply_profile(name: str, params_path: Path, profile_dir: Path = PROFILE_DIR) -> list[str]:
    """Rewrite params.yaml with the profile's keys; validate the result before writing it."""
    rt = _round_trip_yaml()
    document = merged_document(name, params_path, profile_dir, rt)
    buffer = io.StringIO()
    rt.dump(document, buffer)
    parse_params(yaml.safe_load(buffer.getvalue()))  # never write an invalid params.yaml
    params_path.write_text(realigned_comments(Path(params_path).read_text(), buffer.getvalue()))
    return sorted(load_profile(name, profile_dir))


COMMENTED = re.compile(r"^(?P<content>\s*[^#\s][^#]*?)(?P<gap>\s+)(?P<comment>#.*)$")


def _comment_columns(lines: list[str]) -> dict[int, int]:
    """Line index -> column of its end-of-line comment (lines with content before a ``#``)."""
    columns = {}
    for i, line in enumerate(lines):
        match = COMMENTED.match(line)
        # an odd count of quotes: the "#" sits inside a quoted string, not a comment
        if match and match["content"].count('"') % 2 == 0 and match["content"].count("'") % 2 == 0:
            columns[i] = len(match["content"]) + len(match["gap"])
    return columns


def _sibling_column(lines: list[str], columns: dict[int, int], index: int) -> int | None:
    """The most common comment column among the lines of ``index``'s block (same indentation, no shallower
    line between): where the file aligns that block's comments."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    found = []
    for step in (-1, 1):
        i = index + step
        while 0 <= i < len(lines):
            text = lines[i]
            depth = len(text) - len(text.lstrip())
            if text.strip() and not text.lstrip().startswith("#") and depth < indent:
                break
            if depth == indent and i in columns:
                found.append(columns[i])
            i += step
    return max(set(found), key=found.count) if found else None


def _key(line: str) -> tuple[int, str] | None:
    match = re.match(r"^(\s*)([^\s#:][^:#]*):", line)
    return (len(match[1]), match[2]) if match else None


def realigned_comments(before: str, after: str) -> str:
    """``after`` with each rewritten line's end-of-line comment back in its column and no trailing blanks: a value
    written longer pushes its comment right, and ruamel keeps it there when a shorter value comes back. The
    column: that of the block's unchanged lines (else, a whole block rewritten, the same key's column before),
    or two blanks after a value too long for it.
    Lines that were already in ``before`` keep their text, so applying the profile params.yaml holds changes
    nothing, and a profile then the base profile gives back the base's file."""
    import difflib

    old_lines, new = before.splitlines(), after.splitlines()
    old = set(old_lines)
    columns, old_columns = _comment_columns(new), _comment_columns(old_lines)
    previous: dict[int, int] = {}  # new line -> the column of the same key's line in before
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old_lines, b=new, autojunk=False).get_opcodes():
        if tag == "replace":
            unused = list(range(i1, i2))
            for j in range(j1, j2):
                same = next((i for i in unused if _key(old_lines[i]) == _key(new[j]) is not None), None)
                if same is not None:
                    unused.remove(same)
                    if same in old_columns:
                        previous[j] = old_columns[same]
    out = list(new)
    for j, line in enumerate(new):
        if line in old:
            continue
        out[j] = line = line.rstrip()
        match = COMMENTED.match(line)
        if not match:
            continue
        width = len(match["content"]) + 2
        block = _sibling_column(new, {i: c for i, c in columns.items() if new[i] in old}, j)
        known = block if block is not None else previous.get(j)  # a whole block rewritten: the key's own column
        column = known if known is not None and known >= width else width
        out[j] = match["content"].ljust(column) + match["comment"]
    return "\n".join(out) + ("\n" if after.endswith("\n") else "")

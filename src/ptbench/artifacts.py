"""Pipeline artifacts on disk without pickle: what a shared DVC remote may hand us is data, never code.

Whoever can write to a shared cache can plant a file that torch.load without its restricted unpickler
would execute on every machine that pulls and reads it. So every artifact the pipeline writes and reads
back is a format that holds data only (docs/reliability.md: What a shared remote is trusted with):
- tensors (method states, source prompts, transfer sources, MPT's distilled state, prepared splits) are
  ``.safetensors`` (what the hub and PEFT store weights in), with their non-tensor fields as JSON in the
  file's header (``save_tree`` / ``load_tree``);
- a resumable checkpoint (optimizer moments, schedule, RNG, history) is read with torch's restricted
  unpickler, always explicitly (``load_checkpoint``: tensors, numbers, strings, lists, dicts only).
A file that is anything else is refused with one line naming it (``UnsafeArtifact``), before any of it
is used: the stage stops and writes nothing DVC could cache.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ptbench.errors import PtbenchError

STATE_FILE = "state.safetensors"  # a method's trained state: <run>/seed<k>/state.safetensors
SOURCES_FILE = "sources.safetensors"  # a transfer method's sources: <method>/seed<k>/sources.safetensors
SEPARATOR = "/"  # nested keys of a tree, flattened: {"prompts": {"mnli": t}} -> "prompts/mnli"
METADATA_KEY = "ptbench"  # the header entry holding the tree's non-tensor leaves as JSON


class UnsafeArtifact(PtbenchError):
    """A pipeline artifact that is not in the format the pipeline writes (e.g. a pickle planted in a
    shared cache): refused unread."""


def _refuse(path: Path, expected: str, found: str, exc: Exception) -> UnsafeArtifact:
    return UnsafeArtifact(f"{path}: expected {expected}, found {found} ({type(exc).__name__}); refused unread: "
                          f"ptbench never unpickles a pipeline artifact (re-create it with dvc repro, or pull from a "
                          f"remote you trust)")


def _kind(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(2)
    pickled = head == b"PK" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"))
    return "a pickle" if pickled else "another format"


def atomic_write(path: Path, write) -> None:
    """``write(<path>.partial)``, then move it into place: a kill leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    write(partial)
    os.replace(partial, path)


def _flatten(tree: dict, prefix: str, tensors: dict, rest: dict) -> None:
    for key, value in tree.items():
        if SEPARATOR in str(key):
            raise ValueError(f"artifact key {key!r} contains {SEPARATOR!r}")
        name = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            tensors[name] = value.detach().cpu().contiguous().clone()  # no shared storage in a safetensors file
        elif isinstance(value, dict) and value and any(isinstance(v, (torch.Tensor, dict)) for v in value.values()):
            _flatten(value, name + SEPARATOR, tensors, rest.setdefault(str(key), {}))
        else:
            rest[str(key)] = value


def save_tree(path: Path, tree: dict[str, Any]) -> None:
    """A nested dict of tensors (and JSON-able leaves) as one ``.safetensors`` file, written atomically."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    rest: dict[str, Any] = {}
    _flatten(tree, "", tensors, rest)
    atomic_write(path, lambda target: save_file(tensors, str(target), metadata={METADATA_KEY: json.dumps(rest)}))


def load_tree(path: Path) -> dict[str, Any]:
    """What ``save_tree`` wrote; anything else is refused unread (``UnsafeArtifact``)."""
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
        tree = json.loads(metadata.get(METADATA_KEY, "{}"))
    except FileNotFoundError:
        raise
    except Exception as exc:  # safetensors raises its own error types (and OSError, ValueError) for a foreign file
        raise _refuse(path, "a safetensors file", _kind(path), exc) from None
    for name, tensor in tensors.items():
        *parents, leaf = name.split(SEPARATOR)
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = tensor
    return tree


def save_state(path: Path, state: dict[str, torch.Tensor]) -> None:
    """A method's state dict (tensors by parameter name)."""
    save_tree(path, dict(state))


def load_state(path: Path) -> dict[str, torch.Tensor]:
    return load_tree(path)


def save_checkpoint(path: Path, state: dict) -> None:
    """A resumable training state (torch's format: optimizer, schedule and RNG states, history), atomic:
    a kill during the write leaves the previous checkpoint intact. Read back only by ``load_checkpoint``."""
    atomic_write(path, lambda target: torch.save(state, target))


def load_checkpoint(path: Path) -> dict:
    """A checkpoint through torch's restricted unpickler, explicitly (whatever a torch version's default):
    tensors, numbers, strings and containers only; a file with anything else is refused unread."""
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise _refuse(Path(path), "a checkpoint of tensors, numbers and strings",
                      "objects the restricted unpickler refuses", exc) from None

"""The one place that talks to the hub: real ids and real loaders, pointed at a mirror by one setting.

With ``hub.mirror`` set, ``google-t5/t5-base`` resolves to ``<mirror>/models/google-t5/t5-base``
and ``nyu-mll/glue`` to ``<mirror>/datasets/nyu-mll/glue``; the calls (``from_pretrained``,
``load_dataset``) are the same as with the real hub.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any

from ptbench.errors import DataError, HubUnreachableError

HUB_HOST = "huggingface.co"


def configure_environment(offline: bool) -> None:
    """Set before transformers/datasets are imported: they read these at import time."""
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    # bitsandbytes warns on import that it cannot fetch an optional CPU kernel from the hub
    # (the `kernels` package, which we must not install: it downloads at run time).
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)


def model_location(hub_id: str, mirror: str | None) -> str:
    if mirror is None:
        return hub_id
    path = Path(mirror) / "models" / hub_id
    if not (path / "config.json").exists():
        raise DataError(f"hub.mirror: no model '{hub_id}' under {path} (run the `mirror` stage: dvc repro mirror)")
    return str(path)


def dataset_location(repo_id: str, mirror: str | None) -> str:
    if mirror is None:
        return repo_id
    path = Path(mirror) / "datasets" / repo_id
    if not path.is_dir():
        raise DataError(f"hub.mirror: no dataset '{repo_id}' under {path} (run the `mirror` stage: dvc repro mirror)")
    return str(path)


def hub_reachable(timeout: float = 5.0) -> bool:
    """A DNS lookup plus TCP connect with a hard time limit (a plain lookup can hang ~20 s)."""
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((HUB_HOST, 443), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def ensure_hub(what: str, mirror: str | None, offline: bool) -> None:
    """Fail fast, in one line, when the real hub is needed but cannot be reached."""
    if mirror is not None:
        return
    if offline:
        raise HubUnreachableError(f"{what} needs the hub but hub.offline is true and hub.mirror is null; "
                                  "set hub.mirror to a local mirror or allow network access")
    if not hub_reachable():
        raise HubUnreachableError(f"{what} needs the hub, but {HUB_HOST} is unreachable from this machine; "
                                  "use the smoke profile (local mirror) or run where the hub is reachable")


def load_hub_dataset(path: str, name: str | None, revision: str, mirror: str | None, offline: bool) -> Any:
    """``datasets.load_dataset`` on the hub repo or its mirror copy, all splits."""
    ensure_hub(f"dataset {path}/{name}", mirror, offline)
    import datasets

    location = dataset_location(path, mirror)
    kwargs: dict[str, Any] = {} if mirror else {"revision": revision}
    try:
        return datasets.load_dataset(location, name, **kwargs)
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"dataset {path}/{name}: cannot load from {location}: {str(exc).splitlines()[0]}") from None


def load_tokenizer(hub_id: str, mirror: str | None, offline: bool) -> Any:
    ensure_hub(f"tokenizer {hub_id}", mirror, offline)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_location(hub_id, mirror))


def load_model(hub_id: str, family: str, mirror: str | None, offline: bool, **kwargs: Any) -> Any:
    ensure_hub(f"model {hub_id}", mirror, offline)
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    auto = AutoModelForSeq2SeqLM if family == "seq2seq" else AutoModelForCausalLM
    return auto.from_pretrained(model_location(hub_id, mirror), **kwargs)

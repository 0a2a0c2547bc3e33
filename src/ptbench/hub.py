"""The one place that talks to the hub: real ids and real loaders, pointed at a mirror by one setting.

With ``hub.mirror`` set, ``google-t5/t5-base`` resolves to ``<mirror>/models/google-t5/t5-base``
and ``nyu-mll/glue`` to ``<mirror>/datasets/nyu-mll/glue``; the calls (``from_pretrained``,
``load_dataset``) are the same as with the real hub.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import socket
import threading
from pathlib import Path
from typing import Any, Iterator

from ptbench.errors import DataError, HubUnreachableError, PtbenchError

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


def mirror_cache_dir(location: Path) -> Path:
    """A ``datasets`` cache folder keyed by the mirror dataset's bytes.

    ``load_dataset(<folder>, <config>)`` keys its Arrow cache by the config's data file *names*,
    not their contents: after the mirror is rebuilt (other rows, a corrupt or a fixed file) it
    would keep serving the old rows. A content-keyed cache folder makes every change a miss.
    """
    import datasets

    digest = hashlib.sha256()
    for file in sorted(p for p in location.rglob("*") if p.is_file()):
        digest.update(file.relative_to(location).as_posix().encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return Path(datasets.config.HF_DATASETS_CACHE) / "ptbench-mirror" / digest.hexdigest()[:16]


class _DatasetsLog(logging.Handler):
    """Collects what ``datasets`` logs while loading (it names the bad file only there)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def messages(self) -> list[str]:
        return [record.getMessage() for record in self.records]

    def replay(self) -> None:
        """After a successful load: what was logged goes where it would have gone."""
        for record in self.records:
            logging.getLogger(record.name).handle(record)


@contextlib.contextmanager
def _datasets_log() -> Iterator[_DatasetsLog]:
    """Route the ``datasets`` library's log to a collector, so that a failed load is one line on stderr."""
    logger = logging.getLogger("datasets")
    collector, handlers = _DatasetsLog(), logger.handlers[:]
    for handler in handlers:
        logger.removeHandler(handler)
    logger.addHandler(collector)
    try:
        yield collector
    finally:
        logger.removeHandler(collector)
        for handler in handlers:
            logger.addHandler(handler)


_LOGGED_FILE = re.compile(r"Failed to read (?:schema from |file )'([^']+)'")
_MISSING_FILE = re.compile(r"Unable to find '([^']+)'")


def _load_error(what: str, location: str, exc: BaseException, log: _DatasetsLog) -> str:
    """One line naming the dataset, the file (when known) and the root cause."""
    if isinstance(exc, FileNotFoundError):
        missing = _MISSING_FILE.search(str(exc))
        if missing:
            return f"{what}: data file missing: {missing.group(1)}"
    cause: BaseException = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    files = [m.group(1) for m in map(_LOGGED_FILE.search, log.messages) if m]
    where = files[-1] if files else location
    table_columns = getattr(cause, "table_column_names", None)
    requested = getattr(cause, "requested_column_names", None)
    if table_columns is not None and requested is not None:  # datasets.table.CastError: the files disagree
        return (f"{what}: cannot read {where}: its columns ({', '.join(table_columns)}) differ from the "
                f"dataset's ({', '.join(requested)})")
    lines = str(cause).strip().splitlines() or [""]
    return f"{what}: cannot read {where}: {type(cause).__name__}: {lines[0][:300]}"


def load_hub_dataset(path: str, name: str | None, revision: str, mirror: str | None, offline: bool) -> Any:
    """``datasets.load_dataset`` on the hub repo or its mirror copy, all splits.

    A missing, corrupt or inconsistent data file raises a DataError naming the dataset and the file.
    """
    ensure_hub(f"dataset {path}/{name}", mirror, offline)
    import datasets
    import pyarrow

    location = dataset_location(path, mirror)
    kwargs: dict[str, Any] = {"cache_dir": str(mirror_cache_dir(Path(location)))} if mirror else {"revision": revision}
    with _datasets_log() as log:
        try:
            dataset = datasets.load_dataset(location, name, **kwargs)
        except (OSError, ValueError, pyarrow.ArrowException, datasets.exceptions.DatasetBuildError) as exc:
            raise DataError(_load_error(f"dataset {path}/{name}", location, exc, log)) from None
    log.replay()
    return dataset


def load_tokenizer(hub_id: str, mirror: str | None, offline: bool) -> Any:
    ensure_hub(f"tokenizer {hub_id}", mirror, offline)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_location(hub_id, mirror))


def auto_model_class(family: str) -> Any:
    """The transformers Auto class that builds a backbone of this architecture family."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    return AutoModelForSeq2SeqLM if family == "seq2seq" else AutoModelForCausalLM


def load_model(hub_id: str, family: str, mirror: str | None, offline: bool, quantize_4bit: bool = False,
               **kwargs: Any) -> Any:
    """``from_pretrained`` on the hub id or its mirror copy.

    ``quantize_4bit`` (the backbone entry's ``BackboneInfo.quantize_4bit``): NF4 weights with double
    quantization, bf16 compute on a GPU, the whole model on this process's device
    (``ptbench.quantization``); ``kwargs`` override those arguments.
    """
    ensure_hub(f"model {hub_id}", mirror, offline)
    auto = auto_model_class(family)
    if not quantize_4bit:
        return auto.from_pretrained(model_location(hub_id, mirror), **kwargs)
    from ptbench import quantization

    model = auto.from_pretrained(model_location(hub_id, mirror), **{**quantization.from_pretrained_kwargs(), **kwargs})
    return quantization.after_load(model)


def import_model_code(hub_id: str, family: str, mirror: str | None, offline: bool) -> None:
    """Import what ``load_model`` and ``load_tokenizer`` import (the model class, the tokenizer) without
    loading any weights: what a stage does before forking its workers (``stagekit.run_jobs``), so that
    each does not import them again. A model that cannot be found here is left to the runs to report."""
    import torch
    from transformers import AutoConfig

    try:
        ensure_hub(f"model {hub_id}", mirror, offline)
        config = AutoConfig.from_pretrained(model_location(hub_id, mirror))
    except (PtbenchError, OSError):
        return
    with torch.device("meta"):  # the class and its modules imported; no memory, no compute
        auto_model_class(family).from_config(config)
    try:
        load_tokenizer(hub_id, mirror, offline)
    except (PtbenchError, OSError, ValueError):
        pass

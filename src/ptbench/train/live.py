"""A run's training history as dvclive files, to watch a run as it trains and for ``dvc plots``.

``RunLog(directory, history)`` writes, under ``directory``, one ``plots/metrics/<name>.tsv`` per logged
value (columns ``step`` and ``<name>``, one row per history entry holding it; the step axis is the
training step) and ``metrics.json`` (the latest values and step), then ``log`` adds each entry the
loop appends to the history. The history itself (``train.json``) is unchanged and stays what the
report reads; these files only mirror it.

Choices:

- A resumed run rewrites the files from its full history (its checkpoint holds every earlier entry)
  rather than continuing them with dvclive's ``resume=True``: a re-run stage starts from an empty
  output folder (``stagekit.atomic_dir``), so there would be nothing on disk to continue, and a
  rewrite gives the files of an uninterrupted run, byte for byte (no timestamps are logged).
- Numbers are logged under their history key. A list (no method's ``diagnostics()`` returns one
  today: ept_msp logs its gate weights as ``gate_mean_<i>`` scalars) is logged per index as
  ``<key>/<i>``; anything else (None, text) is skipped, as ``dvc plots`` draws numbers only.
- Only the main process writes (under ``accelerate launch`` every process holds the same history).
- dvclive's repository side is switched off. Left alone, ``dvclive.Live`` opens the DVC repository
  around the working directory (and ``dvc init``s a bare Git one), reads ``dvc repro`` / ``dvc exp run``
  from ``DVC_ROOT`` / ``DVC_EXP_*``, ``git add``s its folder under ``dvc exp run``, may post to DVC
  Studio, and ``DVCLIVE_TEST`` moves its files to a temporary folder. These logs are plain files inside
  a stage's output, declared by the pipeline's dvc.yaml: no repository, experiment, Studio, dvc.yaml
  or report here, whatever the environment (``_files_only`` overrides dvclive 3.49's ``_init_*`` hooks;
  tests/train/test_live.py fails if they stop being called).
"""
from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

LIVE_DIR = "dvclive"  # under a run's seed folder: experiment.train_run


class RunLog:
    """The dvclive files of one training run; a no-op without a directory or off the main process."""

    def __init__(self, directory: Path | None, history: Iterable[dict] = ()) -> None:
        from ptbench.run.process import process_state

        self._live = None
        if directory is None or not process_state().is_main_process:
            return
        shutil.rmtree(directory, ignore_errors=True)  # rewritten from the history: see the module docstring
        self._live = _files_only(Path(directory))
        for entry in history:
            self.log(entry)

    def log(self, entry: dict) -> None:
        """One history entry (``{"step": k, name: value, ...}``) at step k."""
        if self._live is None:
            return
        self._live.step = entry["step"]
        for name, value in _numbers(entry):
            self._live.log_metric(name, value)  # appends a row to plots/metrics/<name>.tsv at once
        self._live.make_summary()  # metrics.json: the latest values, for whoever watches the run


def _numbers(entry: dict):
    def is_number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    for key, value in entry.items():
        if key == "step":
            continue
        if isinstance(value, (list, tuple)):
            yield from ((f"{key}/{i}", v) for i, v in enumerate(value) if is_number(v))
        elif is_number(value):
            yield key, value


def _files_only(directory: Path):
    """A ``dvclive.Live`` writing its files into ``directory`` and nothing else (dvclive is imported on
    first use: it imports DVC, most of a second that runs without logs need not pay)."""
    from dvclive import Live

    class FilesOnly(Live):
        def _init_dvc(self) -> None:  # no repository, no experiment, no DVC_ROOT / DVC_EXP_* detection
            self._dvc_file = "dvc.yaml"  # never written: dvcyaml=None

        _init_test = _init_dvc  # DVCLIVE_TEST: the files stay in ``directory``

        def _init_studio(self) -> None:  # never post to DVC Studio
            self._studio_events_to_skip = {"start", "data", "done"}

    # resume=False (DVCLIVE_RESUME aside): the folder was just removed, so there is nothing to resume
    return FilesOnly(str(directory), resume=False, report=None, save_dvc_exp=False, dvcyaml=None)

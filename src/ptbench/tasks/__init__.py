"""Task registry: every ``specs/<name>.yaml`` is a task; adding a task is adding one file."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ptbench.errors import require_choice
from ptbench.tasks.spec import LABEL_WORDS, SCORING_MODES, TaskSpec, load_spec_file

SPEC_DIR = Path(__file__).parent / "specs"


@lru_cache(maxsize=len(SCORING_MODES) * len(LABEL_WORDS))
def all_tasks(scoring: str = "faithful", label_words: str = "digits") -> dict[str, TaskSpec]:
    """Every task in one scoring mode (``data.scoring``: faithful | corrected) and one reading of its
    label words (``data.label_words``: digits | names)."""
    require_choice("data.scoring", scoring, SCORING_MODES)
    require_choice("data.label_words", label_words, LABEL_WORDS)
    return {path.stem: load_spec_file(path, scoring, label_words) for path in sorted(SPEC_DIR.glob("*.yaml"))}


def get_task(name: str, scoring: str = "faithful", label_words: str = "digits") -> TaskSpec:
    tasks = all_tasks(scoring, label_words)
    require_choice("task", name, sorted(tasks))
    return tasks[name]


def task_as_read(name: str, data: Any) -> TaskSpec:
    """The task as params.yaml's ``data`` section reads it: its scoring mode and label words."""
    return get_task(name, data.scoring, data.label_words)

"""Task registry: every ``specs/<name>.yaml`` is a task; adding a task is adding one file."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ptbench.errors import require_choice
from ptbench.tasks.spec import SCORING_MODES, TaskSpec, load_spec_file

SPEC_DIR = Path(__file__).parent / "specs"


@lru_cache(maxsize=len(SCORING_MODES))
def all_tasks(scoring: str = "faithful") -> dict[str, TaskSpec]:
    """Every task in one scoring mode (``data.scoring``: faithful | corrected)."""
    require_choice("data.scoring", scoring, SCORING_MODES)
    return {path.stem: load_spec_file(path, scoring) for path in sorted(SPEC_DIR.glob("*.yaml"))}


def get_task(name: str, scoring: str = "faithful") -> TaskSpec:
    tasks = all_tasks(scoring)
    require_choice("task", name, sorted(tasks))
    return tasks[name]

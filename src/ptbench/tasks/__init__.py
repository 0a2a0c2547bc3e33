"""Task registry: every ``specs/<name>.yaml`` is a task; adding a task is adding one file."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ptbench.errors import require_choice
from ptbench.tasks.spec import TaskSpec, load_spec_file

SPEC_DIR = Path(__file__).parent / "specs"


@lru_cache(maxsize=1)
def all_tasks() -> dict[str, TaskSpec]:
    return {path.stem: load_spec_file(path) for path in sorted(SPEC_DIR.glob("*.yaml"))}


def get_task(name: str) -> TaskSpec:
    tasks = all_tasks()
    require_choice("task", name, sorted(tasks))
    return tasks[name]

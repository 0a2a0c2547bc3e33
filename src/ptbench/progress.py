"""Progress lines for long loops (training, mirror pre-training, generation, data preparation):
visible inside ``dvc repro``, which shows a stage's output as it comes, without flooding its log."""
from __future__ import annotations

import time


class Progress:
    """A line at most every ``every`` seconds, and at the last step: the step, the values given
    (None shown as '-') and an ETA from the pace since this process started at step ``done``.
    ``quiet_if_quick``: no line at all for a loop that ends within ``every`` seconds (generation runs at
    every validation; a short one says nothing)."""

    def __init__(self, label: str, total: int, done: int = 0, every: float = 10.0, enabled: bool = True,
                 quiet_if_quick: bool = False) -> None:
        self.label, self.total, self.done, self.every, self.enabled = label, total, done, every, enabled
        self.quiet_if_quick = quiet_if_quick
        self.started = self.last = time.monotonic()

    def update(self, step: int, **values: float | None) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < self.every and step < self.total):
            return
        if self.quiet_if_quick and now - self.started < self.every:
            return
        self.last = now
        elapsed = now - self.started
        eta = elapsed / max(1, step - self.done) * (self.total - step)
        shown = " ".join(f"{k} {'-' if v is None else f'{v:.4g}'}" for k, v in values.items())
        print(f"{self.label}: step {step}/{self.total} {shown} | {elapsed:.0f}s, ETA {eta:.0f}s", flush=True)

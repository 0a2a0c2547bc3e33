"""Progress lines: at most one per interval, the last step always (unless a quick loop asked for
quiet), the ETA from the pace so far."""
import pytest

import ptbench.progress as progress_module
from ptbench.progress import Progress


@pytest.fixture
def clock(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: now[0])
    return now


def test_a_line_at_most_every_interval_and_at_the_last_step(clock, capsys):
    progress = Progress("train rte seed 0", total=100, every=10.0)
    for step in range(1, 101):
        clock[0] += 0.5  # 0.5 s a step: a line every 20 steps, and the last
        progress.update(step, loss=1.0 / step, validation=None)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": step ")[1].split()[0] for line in lines] == ["20/100", "40/100", "60/100", "80/100",
                                                                       "100/100"]
    assert lines[0] == "train rte seed 0: step 20/100 loss 0.05 validation - | 10s, ETA 40s"
    assert lines[-1].endswith("| 50s, ETA 0s")


def test_a_resumed_run_paces_its_eta_from_where_it_resumed(clock, capsys):
    progress = Progress("train", total=100, done=50, every=10.0)
    clock[0] += 10.0
    progress.update(60)  # 10 steps in 10 s, 40 to go
    assert capsys.readouterr().out.strip().endswith("| 10s, ETA 40s")


def test_a_quick_loop_that_asked_for_quiet_prints_nothing(clock, capsys):
    quick = Progress("generate 100 examples", total=100, quiet_if_quick=True)
    for step in (50, 100):
        clock[0] += 1.0
        quick.update(step)
    assert capsys.readouterr().out == ""
    slow = Progress("generate 100 examples", total=100, quiet_if_quick=True)
    for step in (50, 100):
        clock[0] += 11.0
        slow.update(step)
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_a_disabled_progress_prints_nothing(clock, capsys):
    progress = Progress("train", total=2, enabled=False)
    clock[0] += 20.0
    progress.update(2)
    assert capsys.readouterr().out == ""

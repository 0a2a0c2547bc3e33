"""A result is two files: its numbers (the DVC metric) and its record beside them (layout.record_path)."""
import json
from pathlib import Path

from ptbench.pipeline.layout import record_path
from ptbench.run.experiment import numbers_only, write_result


def test_the_metrics_file_holds_numbers_only_and_the_record_everything(tmp_path):
    payload = {"method": "pt", "task": "rte", "primary_metric": "accuracy", "provenance": {"git": {"sha": "abc"}},
               "metrics": {"accuracy": 56.5, "invalid_rate": 0.0},
               "per_seed": {"0": {"accuracy": 56.5, "diverged": None, "train_loss": 1.41, "best_step": 15}},
               "test_examples": 200, "trainable_parameters": 640, "stored_parameters": 640}
    metrics = tmp_path / "results" / "metrics" / "tiny-t5" / "pt" / "rte.json"
    write_result(metrics, payload)
    assert json.loads(record_path(metrics).read_text()) == payload
    assert record_path(metrics) == tmp_path / "results" / "records" / "tiny-t5" / "pt" / "rte.json"
    assert json.loads(metrics.read_text()) == {
        "metrics": {"accuracy": 56.5, "invalid_rate": 0.0}, "test_examples": 200, "trainable_parameters": 640,
        "stored_parameters": 640, "per_seed": {"0": {"accuracy": 56.5, "train_loss": 1.41, "best_step": 15}}}


def test_numbers_only_keeps_numbers_and_flags_as_0_or_1():
    kept = numbers_only({"a": True, "b": False, "c": "text", "d": None, "e": {"f": 2}, "g": {"h": "x"}})
    assert kept == {"a": 1, "b": 0, "e": {"f": 2}}
    assert not any(isinstance(value, bool) for value in (kept["a"], kept["b"]))  # DVC lists a bool as text
    assert record_path(Path("out/a.json")) == Path("out/a.record.json")  # a metrics file outside a metrics folder

"""The estimate's arithmetic on a hand-made calibration record (no measuring here)."""
import dataclasses

import pytest

from ptbench.config import parse_params
from ptbench.planning.estimate import DVC_STAGE_SECONDS, Backbone, Estimator, makespan, shape_of
from ptbench.planning.workload import Run, Stage

MEASURED = {"backbone": "tiny-t5", "parameters": 1_000_000, "lengths": [16, 80],
            "frozen_step_seconds_per_row": [0.001, 0.003], "full_step_seconds_per_row": 0.006,
            "target_tokens": 16, "decode_seconds_per_example_token": 0.0001}
RECORD = {"training_process_seconds": 5.0, "report_process_seconds": 2.0, "tokenize_seconds_per_row": 1e-5}


def measured_step(length):
    return Backbone("tiny-t5", 1, MEASURED).frozen_step_per_row(length)


@pytest.mark.parametrize("durations, workers, expected", [
    ([4, 4, 4, 4, 4], 2, 12), ([10, 1, 1, 1], 2, 10), ([3, 3], 1, 6), ([5], 4, 5), ([], 2, 0), ([1, 2, 3], 3, 3)])
def test_makespan_hands_each_job_to_the_first_free_worker(durations, workers, expected):
    assert makespan(durations, workers) == expected


def test_a_rate_is_interpolated_in_the_length_and_scaled_by_size():
    measured = Backbone("tiny-t5", 1_000_000, MEASURED)
    assert measured.frozen_step_per_row(48) == pytest.approx(0.002)
    assert measured.full_step_per_row(80) == pytest.approx(0.006)
    assert measured.decode_per_example(3) == pytest.approx(0.0003)
    scaled = Backbone("t5-base", 10_000_000, MEASURED, scale=10.0)
    assert scaled.frozen_step_per_row(48) == pytest.approx(0.02)


def test_a_prompt_adds_its_tokens_and_a_decomposed_one_pads_to_m(raw_params):
    params = parse_params(raw_params)
    m = params.data.max_length
    assert shape_of(params, "pt", m) == (params.methods["pt"]["length"], False, True)  # the batch's own length
    assert shape_of(params, "dept", m) == (params.methods["dept"]["length"], True, True)  # A B is sized by m
    assert shape_of(params, "lora", m) == (0, False, True)  # a layer method keeps the input as it is
    assert shape_of(params, "control", m)[2] is False  # trains nothing


def test_a_stage_is_its_process_and_its_runs_spread_over_the_workers(raw_params):
    params = parse_params(raw_params)
    estimator = Estimator(params, RECORD, {"tiny-t5": Backbone("tiny-t5", 1_000_000, MEASURED)})
    run = Run("tiny-t5", "pt", "rte", steps=60, batch_size=32, validation_examples=200, validation_passes=2,
              test_examples=200)
    length = params.data.input_length("rte") + params.methods["pt"]["length"]  # no prepared data: m
    step = Backbone("tiny-t5", 1, MEASURED).frozen_step_per_row(length) * 32
    assert estimator.step_seconds(run) == pytest.approx(step)
    short = Estimator(params, RECORD, estimator.backbones, {("tiny-t5", "rte"): 20})  # the longest prepared input
    assert short.step_seconds(run) == pytest.approx(measured_step(20 + params.methods["pt"]["length"]) * 32)
    trains_backbone = dataclasses.replace(run, method="ft")
    full = Backbone("tiny-t5", 1, MEASURED).full_step_per_row(params.data.input_length("rte")) * 32
    assert estimator.step_seconds(trains_backbone) == pytest.approx(full)
    one = 60 * step + 600 * 3 * 0.0001  # a label: 3 tokens decoded, 2 validation passes and the test split
    assert estimator.run_seconds(run) == pytest.approx(one)
    stage = Stage("s", "cells", "tiny-t5", "pt", (run,) * 5, workers=2)
    assert estimator.stage_seconds(stage) == pytest.approx(5.0 + DVC_STAGE_SECONDS + 3 * one)
    control = dataclasses.replace(run, method="control")  # trains nothing: its built state validated once
    assert estimator.train_seconds(control) == pytest.approx(200 * 3 * 0.0001)
    rows = Stage("r", "rows", "tiny-t5", "pt")
    assert estimator.stage_seconds(rows) == pytest.approx(2.0 + DVC_STAGE_SECONDS)

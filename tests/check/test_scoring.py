"""``ptbench score``: predictions from anywhere, scored against a prepared test split's references with the
evaluate stage's metrics (tests/test_regression.py checks it reproduces the evaluate stage's numbers on
its own predictions files). Expected values here are counted by hand."""
import json

import pytest

from ptbench.cli import main
from ptbench.data.prepare import PreparedSplit, split_path
from ptbench.errors import DataError
from ptbench.check.scoring import read_predictions, score_file


def prepared(tmp_path, task="rte", scoring="corrected", references=(("0",), ("1",), ("0",), ("1",))):
    folder = tmp_path / "data" / task
    folder.mkdir(parents=True)
    PreparedSplit([[1]] * len(references), [[1]] * len(references), [list(r) for r in references]).save(split_path(folder, "test"))
    (folder / "splits.json").write_text(json.dumps({"task": task, "scoring": scoring}))
    return folder


def jsonl(tmp_path, rows, name="predictions.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_json_lines_in_any_order_are_scored_by_id(tmp_path):
    folder = prepared(tmp_path)
    rows = [{"id": 3, "prediction": "0"}, {"id": 0, "prediction": "0"},
            {"id": 2, "prediction": "maybe"}, {"id": 1, "prediction": "1"}]  # RTE's classes: "0", "1" (DePT)
    result = score_file("rte", folder, jsonl(tmp_path, rows))
    # right: ids 0 and 1; wrong: 3; "maybe" is no RTE class: wrong and invalid
    assert result["metrics"] == {"accuracy": 50.0, "invalid_rate": 25.0}
    assert (result["examples"], result["scoring"]) == (4, "corrected")


def test_an_evaluate_stage_file_is_read_by_seed(tmp_path):
    folder = prepared(tmp_path)
    path = tmp_path / "stage.json"
    path.write_text(json.dumps({"per_seed": {"0": ["0"] * 4, "1": ["0", "1"] * 2}}))
    assert score_file("rte", folder, path)["metrics"]["accuracy"] == 50.0
    assert score_file("rte", folder, path, seed="1")["metrics"]["accuracy"] == 100.0
    with pytest.raises(DataError, match="no seed '2'"):
        score_file("rte", folder, path, seed="2")


@pytest.mark.parametrize("rows, message", [
    ([{"id": 0, "prediction": "a"}, {"id": 0, "prediction": "b"}], "id 0 appears twice"),
    ([{"id": 0, "prediction": "a"}], "3 of the 4 test examples have no prediction"),
    ([{"id": 4, "prediction": "a"}], r"id 4 is not an index of the test split \(0..3\)"),
    ([{"id": True, "prediction": "a"}], "id True is not an index"),
    ([{"id": 0, "text": "a"}], 'expected a JSON object with "id" and "prediction"'),
    ([{"id": 0, "prediction": 1}], "prediction must be a string"),
])
def test_bad_predictions_are_one_line_naming_the_file_and_line(tmp_path, rows, message):
    with pytest.raises(DataError, match=message) as info:
        read_predictions(jsonl(tmp_path, rows), 4)
    assert "predictions.jsonl" in str(info.value) and "\n" not in str(info.value)


def test_the_data_must_be_the_tasks_and_in_the_asked_scoring_mode(tmp_path):
    folder = prepared(tmp_path)
    path = jsonl(tmp_path, [{"id": i, "prediction": "0"} for i in range(4)])
    with pytest.raises(DataError, match="holds task 'rte', not 'mnli'"):
        score_file("mnli", folder, path)
    with pytest.raises(DataError, match="prepared with data.scoring 'corrected'"):
        score_file("rte", folder, path, scoring="faithful")
    with pytest.raises(DataError, match="no prepared test split"):
        score_file("rte", tmp_path, path)


def test_the_command_prints_the_scores_and_fails_in_one_line(tmp_path, capsys):
    folder = prepared(tmp_path)
    path = jsonl(tmp_path, [{"id": i, "prediction": "0"} for i in range(4)])
    main(["score", "--task", "rte", "--data", str(folder), "--predictions", str(path)])
    assert json.loads(capsys.readouterr().out)["metrics"] == {"accuracy": 50.0, "invalid_rate": 0.0}
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "--task", "rte", "--predictions", str(path)])
    assert exit_info.value.code == 2 and "--data" in capsys.readouterr().err

"""``ptbench score``: predictions made anywhere, scored with exactly the evaluate stage's metrics.

The references are those of a prepared test split (``data/prepared/<backbone>/<task>/test.safetensors``, what the
data stage wrote), so another codebase's outputs meet the same examples, gold answers, MultiRC groups
and scoring mode (faithful or corrected: the one the data was prepared under) as ours. Predictions are
JSON lines ``{"id": <index in the test split>, "prediction": "<text>"}``, or an evaluate stage's own
predictions file (``results/predictions/...json``: one list per seed).
"""
from __future__ import annotations

import json
from pathlib import Path

from ptbench.errors import DataError


def read_predictions(path: Path, examples: int, seed: str | None = None) -> list[str]:
    """One prediction per test example, in test-split order; every id from 0 to examples - 1 once."""
    path = Path(path)
    text = path.read_text()
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict) and "per_seed" in whole:  # an evaluate stage's predictions file
        seeds = sorted(whole["per_seed"], key=int)
        chosen = seed if seed is not None else seeds[0]
        if chosen not in whole["per_seed"]:
            raise DataError(f"{path}: no seed {chosen!r}; it holds {', '.join(seeds)}")
        predictions = list(whole["per_seed"][chosen])
        if len(predictions) != examples:
            raise DataError(f"{path}: {len(predictions)} predictions for a test split of {examples} examples")
        return predictions
    by_id: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            index, prediction = row["id"], row["prediction"]
        except (json.JSONDecodeError, TypeError, KeyError):
            raise DataError(f"{path}:{number}: expected a JSON object with \"id\" and \"prediction\"") from None
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < examples:
            raise DataError(f"{path}:{number}: id {index!r} is not an index of the test split (0..{examples - 1})")
        if not isinstance(prediction, str):
            raise DataError(f"{path}:{number}: prediction must be a string, got {prediction!r}")
        if index in by_id:
            raise DataError(f"{path}:{number}: id {index} appears twice")
        by_id[index] = prediction
    missing = [i for i in range(examples) if i not in by_id]
    if missing:
        raise DataError(f"{path}: {len(missing)} of the {examples} test examples have no prediction "
                        f"(first missing id: {missing[0]})")
    return [by_id[i] for i in range(examples)]


def score_file(task: str, data_dir: Path, predictions_path: Path, seed: str | None = None,
               scoring: str | None = None) -> dict:
    """The metrics the evaluate stage computes (``train.loop.score``) for these predictions."""
    from ptbench.data.prepare import PreparedSplit, split_path
    from ptbench.tasks import get_task
    from ptbench.train.loop import score

    data_dir = Path(data_dir)
    summary_path = data_dir / "splits.json"
    if not summary_path.is_file():
        raise DataError(f"{data_dir}: no prepared test split (splits.json); run the data stage first")
    prepared = json.loads(summary_path.read_text())
    if prepared.get("task") != task:
        raise DataError(f"{data_dir} holds task {prepared.get('task')!r}, not {task!r}")
    if scoring is not None and scoring != prepared["scoring"]:
        raise DataError(f"{data_dir} was prepared with data.scoring {prepared['scoring']!r}: its references are "
                        f"that mode's; prepare the data with data.scoring: {scoring} to score {scoring}")
    # splits.json without label_words predates the choice: its targets are the digits
    spec = get_task(task, prepared["scoring"], prepared.get("label_words", "digits"))
    split = PreparedSplit.load(split_path(data_dir, "test"))
    predictions = read_predictions(predictions_path, len(split), seed)
    return {"task": task, "scoring": prepared["scoring"], "examples": len(split), "metrics": score(spec, predictions, split)}

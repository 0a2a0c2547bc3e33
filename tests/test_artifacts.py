"""Pipeline artifacts are data, never code (ptbench.artifacts): what the pipeline writes round-trips
without pickle, and a pickle planted where a state, a transfer source, a prepared split or a checkpoint
belongs is refused with one line, unread (the planted file would create a marker when unpickled)."""
import pickle
import re
from pathlib import Path

import pytest
import torch

from ptbench.artifacts import UnsafeArtifact, load_state, load_tree, save_state, save_tree
from ptbench.data.prepare import PreparedSplit, split_path
from ptbench.train.loop import load_checkpoint, save_checkpoint
from ptbench.run.transfer import load_transfer_sources

SRC = Path(__file__).resolve().parents[1] / "src"


class Planted:
    """Unpickled, it creates ``marker``: what a tampered file in a shared cache could do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def plant(path: Path, marker: Path, archive: bool = False) -> None:
    """A pickle (``archive``: a torch.save zip, as a checkpoint is) that would run code when loaded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if archive:
        torch.save({"fingerprint": "f", "step": 1, "method": Planted(marker)}, path)
    else:
        path.write_bytes(pickle.dumps({"embedding": Planted(marker)}))


def test_no_pipeline_artifact_is_read_with_the_unrestricted_unpickler():
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        assert "weights_only=False" not in text, path
        for call in re.findall(r"torch\.load\(([^)]*)\)", text):
            assert "weights_only=True" in call, f"{path}: torch.load({call}) without an explicit weights_only=True"


def test_a_tree_of_tensors_and_json_round_trips(tmp_path):
    tree = {"prompts": {"mnli": torch.randn(3, 4), "boolq": torch.randn(3, 4)},
            "states": {"mpt": {"shared": torch.randn(2, 4), "rows": torch.ones(1, 1), "tasks": ["mnli", "boolq"]}},
            "empty": {}}
    save_tree(tmp_path / "sources.safetensors", tree)
    loaded = load_tree(tmp_path / "sources.safetensors")
    assert loaded["states"]["mpt"]["tasks"] == ["mnli", "boolq"] and loaded["empty"] == {}
    assert torch.equal(loaded["prompts"]["mnli"], tree["prompts"]["mnli"])
    assert torch.equal(loaded["states"]["mpt"]["shared"], tree["states"]["mpt"]["shared"])
    state = {"embedding": torch.randn(5, 4, dtype=torch.float64), "tied": torch.randn(2)}
    state["view"] = state["tied"]  # shared storage, as tied weights
    save_state(tmp_path / "state.safetensors", state)
    assert all(torch.equal(v, load_state(tmp_path / "state.safetensors")[k]) for k, v in state.items())


def test_a_prepared_split_round_trips_exactly(tmp_path):
    split = PreparedSplit([[5, 6, 1], [7, 1], []], [[3, 1], [4, 1], [1]], [["0"], ["1", "uno"], [""]], ["q1", "q1", "q2"])
    split.save(split_path(tmp_path, "train"))
    assert PreparedSplit.load(split_path(tmp_path, "train")) == split
    empty = PreparedSplit([], [], [])
    empty.save(split_path(tmp_path, "test"))
    assert PreparedSplit.load(split_path(tmp_path, "test")) == empty


def refused(load, path: Path, marker: Path, expected: str) -> None:
    with pytest.raises(UnsafeArtifact) as caught:
        load()
    line = str(caught.value)
    assert "\n" not in line and line.startswith(f"{path}: expected {expected}"), line
    assert "refused unread" in line
    assert not marker.exists(), "the planted pickle ran"


def test_a_planted_pickle_is_refused_unread_wherever_it_sits(tmp_path):
    marker = tmp_path / "UNPICKLED"
    state = tmp_path / "runs" / "seed0" / "state.safetensors"
    plant(state, marker)
    refused(lambda: load_state(state), state, marker, "a safetensors file, found a pickle")

    split = split_path(tmp_path / "data", "train")
    plant(split, marker)
    refused(lambda: PreparedSplit.load(split), split, marker, "a safetensors file, found a pickle")

    class Config:
        def source_tasks(self):
            return ["mnli"]
    sources = tmp_path / "transfer" / "spot" / "seed0" / "sources.safetensors"
    plant(sources, marker)
    refused(lambda: load_transfer_sources("spot", Config(), 0, tmp_path / "transfer"), sources, marker,
            "a safetensors file, found a pickle")

    checkpoint = tmp_path / "checkpoints" / "seed0.pt"
    plant(checkpoint, marker, archive=True)
    refused(lambda: load_checkpoint(checkpoint, "f"), checkpoint, marker,
            "a checkpoint of tensors, numbers and strings, found objects the restricted unpickler refuses")


def test_a_checkpoint_of_data_still_resumes(tmp_path):
    """The restricted unpickler reads what the loop saves: tensors, numbers, strings, containers."""
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.ones(2))])
    optimizer.param_groups[0]["params"][0].grad = torch.ones(2)
    optimizer.step()
    state = {"fingerprint": "f", "step": 3, "optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
             "history": [{"step": 1, "loss": 0.5}], "best_validation": {"accuracy": 50.0}, "last_finite_loss": None}
    save_checkpoint(tmp_path / "seed0.pt", state)
    loaded = load_checkpoint(tmp_path / "seed0.pt", "f")
    assert loaded["step"] == 3 and torch.equal(loaded["torch_rng"], state["torch_rng"])
    assert load_checkpoint(tmp_path / "seed0.pt", "another run") is None

"""What the figures read from a saved state (report/prompts.py): every params.yaml variant of ept_msp and
MPT rebuild into their prompt (the gate only where the projection is on), and a state that does not
rebuild gives a reason in words, its exception going to stderr only."""
import re

import pytest
import torch

from ptbench.artifacts import save_state
from ptbench.report.prompts import learned_views, rebuilt_method

WIDTH = 512  # t5-small's d_model (its bundled config): learned_views finds it from the provenance
PROVENANCE = {"backbone": "t5-small"}
ERROR_TEXT = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b|object has no attribute|NoneType")


def saved(tmp_path, method: str, config: dict, seed: int = 0):
    """A trained-looking state of ``method``: every tensor it holds, random."""
    generator = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(v.shape, generator=generator)
             for k, v in rebuilt_method(method, config, {}, WIDTH, 64).state_dict().items()}
    path = tmp_path / f"{method}-{seed}.safetensors"
    save_state(path, state)
    return path, state


@pytest.mark.parametrize("variant", ["ept_msp_none", "ept_msp_decomposition", "ept_msp_no_projection",
                                     "ept_msp_no_fusion"])
def test_every_ept_msp_variant_rebuilds_and_only_a_projection_has_a_gate(variant, repo_params_raw, tmp_path):
    config = {**repo_params_raw["methods"]["ept_msp"], **repo_params_raw["variants"][variant]["knobs"]}
    path, state = saved(tmp_path, "ept_msp", config)
    views = learned_views(path, "ept_msp", config, PROVENANCE, 64)
    length = config["short_length"] if config["decomposition"] else config["length"]
    assert len(views["similarity"]["matrix"]) == length
    assert len(views["prompt_mean"]) == WIDTH  # the prompt's mean token (seed 003 Fig. 10's cross-task view)
    if config["projection"]:
        assert len(views["gate_weights"]) == length and len(views["gate_weights"][0]) == config["num_experts"]
    else:  # no experts, no gate: nothing to read, and no failure
        assert views["gate_weights"] is None and "gate" not in "".join(state)


def test_mpt_rebuilds_from_its_saved_state_without_the_transfer_sources(tmp_path):
    """Its distilled state is read at build time only; the saved state holds P*, U and V, which make the prompt."""
    path, state = saved(tmp_path, "mpt", {})
    views = learned_views(path, "mpt", {}, PROVENANCE, 64)
    expected = state["peft.embedding.weight"] * (state["peft.prefix_task_cols"][0] @ state["peft.prefix_task_rows"][0])
    unit = torch.nn.functional.normalize(expected, dim=-1)
    assert torch.allclose(torch.tensor(views["similarity"]["matrix"]), unit @ unit.T, atol=1e-3)


def test_a_state_that_does_not_rebuild_is_explained_in_words(tmp_path, capsys):
    save_state(tmp_path / "state.safetensors", {"embedding": torch.zeros(3, 7)})  # not a width-512 prompt
    views = learned_views(tmp_path / "state.safetensors", "pt", {"length": 10}, PROVENANCE, 64)
    reason = views["similarity"]["reason"]
    assert views["gate_weights"] is None and "could not be turned back into a prompt" in reason
    assert not ERROR_TEXT.search(reason)
    assert "size mismatch" in capsys.readouterr().err  # the developer's detail, on the rows stage's stderr


@pytest.mark.parametrize("softmax", [False, True])
def test_superpos_gives_the_similarity_of_its_tokens_mixing_weights(tmp_path, softmax):
    """Seed 004 Fig. 2d: the cosine similarity between the p'_i of each pair of tokens (softmaxed in A.2's
    variant); a prompt that mixes nothing has none."""
    config = {"length": 4, "num_tokens": 16, "softmax": softmax}
    path, state = saved(tmp_path, "superpos", config)
    views = learned_views(path, "superpos", config, PROVENANCE, 64)
    weights = state["weights"].softmax(-1) if softmax else state["weights"]
    unit = torch.nn.functional.normalize(weights, dim=-1)
    assert torch.allclose(torch.tensor(views["weight_similarity"]["matrix"]), unit @ unit.T, atol=1e-3)
    pt_path, _ = saved(tmp_path, "pt", {"length": 4})
    assert learned_views(pt_path, "pt", {"length": 4}, PROVENANCE, 64)["weight_similarity"] is None

"""What a run's method sees of its task: the class labels label initialisation embeds follow data.label_words."""
import copy

import torch

from ptbench.config import parse_params
from ptbench.methods.base import initial_prompt
from ptbench.run.experiment import load_backbone, method_context


def test_label_initialisation_embeds_the_words_data_label_words_names(smoke_params, repo_params_raw, smoke_mirror):
    backbone = load_backbone(smoke_params)
    prompts = {}
    for words, classes in (("digits", ("0", "1")), ("names", ("entailment", "not_entailment"))):
        raw = copy.deepcopy(repo_params_raw)
        raw["hub"]["mirror"] = str(smoke_mirror)
        raw["data"]["label_words"] = words
        ctx = method_context(backbone, parse_params(raw), seed=0, task="rte")
        assert ctx.label_texts == classes
        prompts[words] = initial_prompt(ctx, 2, "label")
    embed = backbone.model.get_input_embeddings().weight.detach()
    first_word = embed[torch.tensor(backbone.tokenizer("entailment", add_special_tokens=False).input_ids)].mean(0)
    assert torch.equal(prompts["names"][0], first_word)  # the first class's words, averaged over its tokens
    assert not torch.equal(prompts["names"], prompts["digits"])

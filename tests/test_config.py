import pytest
import yaml

from ptbench.config import load_params, parse_params
from ptbench.errors import ConfigError
from ptbench.pipeline.profiles import load_profile

from conftest import REPO


def test_committed_params_are_valid():
    params = load_params(REPO / "params.yaml")
    assert params.profile == "smoke"
    assert set(params.source_prompts.tasks) <= set(params.tasks)


def test_committed_params_equal_the_smoke_profile(repo_params_raw):
    """params.yaml holds the smoke profile's values, so `ptbench profile smoke` is a no-op."""
    for key, value in load_profile("smoke", REPO / "profiles").items():
        if key == "methods":  # merged knob by knob
            for method, knobs in value.items():
                assert {k: repo_params_raw["methods"][method][k] for k in knobs} == knobs, method
        else:
            assert repo_params_raw[key] == value, key


@pytest.mark.parametrize("edit, message", [
    (lambda r: r.update(backbones=["t5-huge"]), "backbone: unknown value 't5-huge'; allowed:"),
    (lambda r: r.update(backbones=[]), "backbones: must be a non-empty list"),
    (lambda r: r.update(backbones=["t5-base", "t5-base"]), "backbones: names a backbone twice"),
    (lambda r: r["few_shot"].update(backbones=["t5-base"]), "few_shot.backbones: 't5-base' is not in backbones"),
    (lambda r: r["few_shot"].update(transfer=["lora"]), "few_shot.transfer: 'lora' is not a transfer method of the grid"),
    (lambda r: r.update(tasks=["rte", "nope"]), "task: unknown value 'nope'; allowed:"),
    (lambda r: r.update(launcher="torchrun"), "launcher: must start with python or accelerate"),
    (lambda r: r["train"].update(lr_schedule="cosine"), "train.lr_schedule: unknown value 'cosine'; allowed: linear, constant"),
    (lambda r: r["train"].update(epochs=0), "train.epochs: must be"),
    (lambda r: r["data"].update(max_length_per_task={"imagenet": 300}), "task: unknown value 'imagenet'"),
    (lambda r: r["data"].update(max_length_per_task={"multirc": 4}), "data.max_length_per_task.multirc: must be"),
    (lambda r: r["few_shot"].update(source="nearest"), "few_shot.source: 'nearest' is not pre-trained; allowed: best, scratch"),
    (lambda r: r["methods"].update(bogus={}), "methods: unknown value 'bogus'; allowed:"),
    (lambda r: r.update(method="ept"), None),  # a registered, configured method is fine
    (lambda r: r.update(method="superpos_x"), "method: unknown value 'superpos_x'"),
    (lambda r: r["methods"]["pt"].update(lr=-1), "methods.pt.lr: must be a positive number"),
    (lambda r: r["methods"]["pt"].update(length=0), "methods.pt.length: must be an integer >= 1"),
    (lambda r: r["methods"]["pt"].update(colour="red"), "methods.pt: unknown key(s) colour; allowed:"),
    (lambda r: r["methods"]["ept_star"].update(activation="swish"), "methods.ept_star.activation: unknown value 'swish'"),
    (lambda r: r["train"].update(steps=0), "train.steps: must be an integer >= 1"),
    (lambda r: r["train"].update(weight_decay="x"), "train.weight_decay: must be a non-negative number"),
    (lambda r: r["data"].update(split_protocol="random"), "data.split_protocol: unknown value 'random'"),
    (lambda r: r.update(seeds=[]), "seeds: must be a non-empty list"),
    (lambda r: r["source_prompts"].update(tasks=["sst2"]), "source_prompts.tasks: 'sst2' must also be in tasks"),
    (lambda r: r.update(extra=1), "params.yaml: unknown key(s) extra"),
    (lambda r: r.pop("train"), "params.yaml: missing key(s) train"),
    (lambda r: r["hub"].update(mirror=None), "backbones: 'tiny-t5' exists only in the local mirror"),
    (lambda r: r["data"].update(scoring="lenient"), "data.scoring: unknown value 'lenient'; allowed: faithful, corrected"),
    (lambda r: r["data"].update(label_words="words"), "data.label_words: unknown value 'words'; allowed: digits, names"),
    (lambda r: r["zero_shot"].update(methods=["spot"]), "zero_shot.methods: 'spot' is not in grid.methods"),
    (lambda r: r["zero_shot"].update(backbones=["t5-base"]), "zero_shot.backbones: 't5-base' is not in backbones"),
    (lambda r: r["train"].update(decoding="beam"), "train.decoding: unknown value 'beam'; allowed: generate, rank"),
    (lambda r: r["grid"].update(methods=["pt", "lora_x"]), "grid.methods: unknown value 'lora_x'"),
    (lambda r: r["few_shot"].update(source="qqp"), "few_shot.source: 'qqp' is not pre-trained"),
    (lambda r: r["few_shot"].update(methods=["dept"]), "few_shot.methods: 'dept' has no source-trained state"),
    (lambda r: r["few_shot"].update(ks=[4, 0]), "few_shot.ks: must be an integer >= 1"),
    (lambda r: r["mirror"]["pretrain"].update(rules=["rte", "nope"]), "mirror.pretrain.rules: unknown value 'nope'"),
])
def test_bad_params_name_the_key_and_the_allowed_values(raw_params, edit, message):
    edit(raw_params)
    if message is None:
        parse_params(raw_params)
        return
    with pytest.raises(ConfigError) as caught:
        parse_params(raw_params)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_invalid_yaml_is_one_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(path)


def test_profile_switch_rewrites_params_and_keeps_comments(tmp_path):
    from ptbench.pipeline.profiles import apply_profile

    target = tmp_path / "params.yaml"
    target.write_text((REPO / "params.yaml").read_text())
    changed = apply_profile("paper", target, REPO / "profiles")
    assert "train" in changed and "hub" in changed
    text = target.read_text()
    assert "# The variant method" in text  # comments survive
    params = parse_params(yaml.safe_load(text))
    assert (params.profile, params.hub.mirror, params.train.steps) == ("paper", None, 30000)
    assert "t5-base" in params.backbones and "llama-2-7b" in params.backbones
    assert params.methods["mpt"]["sources"] == ["mnli", "qqp", "sst2", "squad", "record"]  # merged knob
    assert params.methods["mpt"]["rank"] == 1  # the knobs the profile does not name are kept
    apply_profile("smoke", target, REPO / "profiles")
    assert yaml.safe_load(target.read_text()) == yaml.safe_load((REPO / "params.yaml").read_text())


def test_applying_the_current_profile_changes_nothing(tmp_path):
    """params.yaml holds the smoke profile: applying it again leaves the file byte for byte (comments,
    block and flow style, number spellings); a changed value is rewritten alone, in place."""
    from ptbench.pipeline.profiles import apply_profile

    target = tmp_path / "params.yaml"
    committed = (REPO / "params.yaml").read_text()
    target.write_text(committed)
    apply_profile("smoke", target, REPO / "profiles")
    assert target.read_text() == committed
    target.write_text(committed.replace("  steps: 30\n", "  steps: 31\n", 1))
    apply_profile("smoke", target, REPO / "profiles")
    assert target.read_text() == committed


@pytest.mark.parametrize("name", ["paper", "quick", "paper-001", "paper-001-large", "paper-003", "paper-004"])
def test_every_profile_applies_and_validates(tmp_path, name):
    from ptbench.pipeline.profiles import apply_profile

    target = tmp_path / "params.yaml"
    target.write_text((REPO / "params.yaml").read_text())
    apply_profile(name, target, REPO / "profiles")
    params = parse_params(yaml.safe_load(target.read_text()))
    assert params.profile == name and params.hub.mirror is None
    apply_profile("smoke", target, REPO / "profiles")  # and back, to the committed smoke params
    assert yaml.safe_load(target.read_text()) == yaml.safe_load((REPO / "params.yaml").read_text())


def test_budget_rules_of_the_seeds(raw_params):
    """Seed 001: 300K steps above 100K training rows; seed 004: 80 epochs."""
    raw_params["train"].update(steps=30000, large_task_steps=300000, large_task_rows=100000)
    train = parse_params(raw_params).train
    assert (train.steps_for(99_999), train.steps_for(100_000), train.steps_for(392_702)) == (30000, 30000, 300000)
    raw_params["train"].update(epochs=80, batch_size=32)
    assert parse_params(raw_params).train.steps_for(2490) == 6225  # ceil(80 x 2490 / 32)

"""Profiles are pure functions of their name: a profile is composed on the base profile (profiles/smoke.yaml,
which sets every key and method knob any profile sets), never on whatever params.yaml held before."""
import itertools

import pytest
import yaml

from conftest import REPO
from ptbench.errors import ConfigError
from ptbench.pipeline.profiles import BASE_PROFILE, apply_profile, available

PROFILES = available(REPO / "profiles")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict[str, str]:
    """Each profile applied to a fresh checkout's params.yaml: the text it writes."""
    out = {}
    for name in PROFILES:
        target = tmp_path_factory.mktemp(name) / "params.yaml"
        target.write_text((REPO / "params.yaml").read_text())
        apply_profile(name, target, REPO / "profiles")
        out[name] = target.read_text()
    return out


def test_every_profile_after_every_other_gives_what_it_gives_on_a_fresh_checkout(fresh, tmp_path):
    assert len(PROFILES) >= 8 and BASE_PROFILE in PROFILES
    for before, name in itertools.permutations(PROFILES, 2):
        target = tmp_path / "params.yaml"
        target.write_text(fresh[before])
        apply_profile(name, target, REPO / "profiles")
        assert yaml.safe_load(target.read_text()) == yaml.safe_load(fresh[name]), f"{before} then {name}"


def test_the_seeds_own_settings_survive_any_previous_profile(fresh, tmp_path):
    """The cases that went wrong when a profile merged onto the previous state."""
    def after(before: str, name: str) -> dict:
        target = tmp_path / "params.yaml"
        target.write_text(fresh[before])
        apply_profile(name, target, REPO / "profiles")
        return yaml.safe_load(target.read_text())
    assert after("paper-003", "paper-004")["methods"]["residual"]["init"] == yaml.safe_load(fresh["paper-004"])["methods"]["residual"]["init"]
    assert after("paper-004", "paper-001")["methods"]["pt"]["vocab_pool"] == 5000
    assert after("paper-001-large", "paper-001")["methods"]["dept"]["init"] == yaml.safe_load(fresh["paper-001"])["methods"]["dept"]["init"]
    assert after("paper-001-large", "paper")["profile"] == "paper"  # it used to fail: pt's length survived


def test_a_profile_that_sets_what_the_base_does_not_is_refused(tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for name in PROFILES:
        (profiles / f"{name}.yaml").write_text((REPO / "profiles" / f"{name}.yaml").read_text())
    (profiles / "mine.yaml").write_text("methods:\n  pt: {lr_unheard_of: 1.0}\n")
    target = tmp_path / "params.yaml"
    target.write_text((REPO / "params.yaml").read_text())
    with pytest.raises(ConfigError, match=r"methods\.pt\.lr_unheard_of.*profiles/smoke\.yaml"):
        apply_profile("mine", target, profiles)
    assert target.read_text() == (REPO / "params.yaml").read_text()  # nothing written


def test_going_back_to_the_base_profile_gives_back_params_yaml_word_for_word(tmp_path):
    """Layout and comments survive switching: any two profiles, then the base, and params.yaml is the committed
    file again, every comment in its column and none of a profile file's own comments left in it."""
    original = (REPO / "params.yaml").read_text()
    target = tmp_path / "params.yaml"
    others = [name for name in PROFILES if name != BASE_PROFILE]
    for first, second in itertools.product(others, others):
        target.write_text(original)
        for name in (first, second, BASE_PROFILE):
            apply_profile(name, target, REPO / "profiles")
        assert target.read_text() == original, (first, second)


def test_a_rewritten_value_takes_its_blocks_comment_column_back():
    from ptbench.pipeline.profiles import realigned_comments

    before = "data:\n  a: 1        # one\n  b: explosive # two\n  c: x        # three\n"
    after = "data:\n  a: 1        # one\n  b: dept # two\n  c: x        # three\n"
    assert realigned_comments(before, after) == "data:\n  a: 1        # one\n  b: dept     # two\n  c: x        # three\n"
    assert realigned_comments(after, after) == after  # unchanged lines keep their text
    long = "data:\n  a: 1        # one\n  b: a-much-longer-value # two\n"
    assert realigned_comments(before, long).splitlines()[2] == "  b: a-much-longer-value  # two"

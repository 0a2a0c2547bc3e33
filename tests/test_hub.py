import time

import pytest

from ptbench import hub
from ptbench.errors import DataError, HubUnreachableError


def test_offline_without_mirror_fails_fast_in_one_line():
    start = time.monotonic()
    with pytest.raises(HubUnreachableError) as caught:
        hub.load_model("google-t5/t5-base", "seq2seq", mirror=None, offline=True)
    assert time.monotonic() - start < 2
    assert "\n" not in str(caught.value) and "hub" in str(caught.value)


def test_missing_mirror_entry_names_the_id_and_the_fix(tmp_path):
    with pytest.raises(DataError, match="no dataset 'nyu-mll/glue'.*dvc repro mirror"):
        hub.load_hub_dataset("nyu-mll/glue", "rte", "main", str(tmp_path), offline=True)
    with pytest.raises(DataError, match="no model 'google-t5/t5-base'"):
        hub.model_location("google-t5/t5-base", str(tmp_path))


def test_mirror_resolves_hub_ids_to_the_same_layout(tmp_path):
    (tmp_path / "models" / "google-t5" / "t5-base").mkdir(parents=True)
    (tmp_path / "models" / "google-t5" / "t5-base" / "config.json").write_text("{}")
    assert hub.model_location("google-t5/t5-base", str(tmp_path)).endswith("models/google-t5/t5-base")
    assert hub.model_location("google-t5/t5-base", None) == "google-t5/t5-base"

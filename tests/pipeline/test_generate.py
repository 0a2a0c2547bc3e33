"""The generated pipeline files: one per backbone and per (backbone, method), in step with params.yaml."""
import shutil

import pytest
import yaml

from conftest import REPO
from ptbench.config import load_params, parse_params
from ptbench.errors import ConfigError
from ptbench.pipeline.generate import ROOT, expected_files, require_current, stale_files, write_pipelines


def stage_kinds(text: str) -> set[str]:
    return set(yaml.safe_load(text)["stages"])


def test_the_committed_pipelines_match_params_yaml():
    assert stale_files(load_params(REPO / "params.yaml"), REPO) == []


def test_each_method_file_holds_the_stage_kinds_params_give_it(raw_params):
    raw_params["runtime"]["stage_per"] = "task"  # the paper grid's: train and evaluate apart
    files = expected_files(parse_params(raw_params))
    kinds = {path.parent.name: stage_kinds(text) for path, text in files.items()
             if path.name == "dvc.yaml" and path.parent.name not in ("tiny-t5", "code")}
    assert stage_kinds(files[ROOT / "tiny-t5" / "dvc.yaml"]) == {"data"}
    assert kinds["dpt"] == {"train", "evaluate", "rows"}
    assert kinds["pt"] == {"source_prompt", "train", "evaluate", "knob", "trial", "fewshot", "rows_fewshot", "rows"}
    assert kinds["attempt"] == {"transfer_source", "train", "evaluate", "rows"}
    assert kinds["mpt"] == {"transfer_source", "train", "evaluate", "fewshot", "rows_fewshot", "rows"}
    assert set(kinds) == set(raw_params["grid"]["methods"]) | set(raw_params["grid"]["transfer"])


def test_source_prompts_are_trained_only_where_something_reads_them(raw_params):
    raw_params["backbones"].append("t5-small")  # few_shot.backbones stays [tiny-t5]
    files = expected_files(parse_params(raw_params))
    assert "source_prompt" in stage_kinds(files[ROOT / "t5-small" / "pt" / "dvc.yaml"])  # the transfer methods'
    assert "source_prompt" not in stage_kinds(files[ROOT / "t5-small" / "ept_msp" / "dvc.yaml"])
    assert "source_prompt" in stage_kinds(files[ROOT / "tiny-t5" / "ept_msp" / "dvc.yaml"])  # its few-shot runs'


def test_lists_inside_a_stage_kind_stay_params_references(raw_params):
    raw_params["runtime"]["stage_per"] = "task"
    pipeline = yaml.safe_load(expected_files(parse_params(raw_params))[ROOT / "tiny-t5" / "pt" / "dvc.yaml"])
    assert pipeline["vars"] == ["../../../params.yaml"]
    assert pipeline["stages"]["train"]["matrix"] == {"task": "${tasks}"}
    assert pipeline["stages"]["fewshot"]["matrix"] == {"task": "${few_shot.tasks}", "k": "${few_shot.ks}"}
    assert pipeline["stages"]["knob"]["matrix"]["point"] == "${knob_runs.methods.pt.points}"
    assert all(stage["wdir"] == "../../.." for stage in pipeline["stages"].values())
    # a method's rows read its knob runs' records only when it has some (a dep must exist)
    assert "results/knobs/records/tiny-t5/pt" in pipeline["stages"]["rows"]["deps"]
    assert not any(dep.startswith(("results/metrics", "results/knobs/metrics")) for dep in pipeline["stages"]["rows"]["deps"])
    dpt = yaml.safe_load(expected_files(parse_params(raw_params))[ROOT / "tiny-t5" / "dpt" / "dvc.yaml"])
    assert not any("knobs" in dep for dep in dpt["stages"]["rows"]["deps"])


def test_a_stage_per_method_loops_over_the_lists_and_owns_the_method_folders(raw_params):
    raw_params["runtime"]["stage_per"] = "method"
    files = expected_files(parse_params(raw_params))
    stages = yaml.safe_load(files[ROOT / "tiny-t5" / "pt" / "dvc.yaml"])["stages"]
    assert not any("matrix" in stage for stage in stages.values())
    assert "train" not in stages and "evaluate" not in stages  # one process trains and scores: cells
    assert stages["cells"]["cmd"] == "${launcher} stages/cells.py --backbone tiny-t5 --method pt"
    # the numbers are the DVC metrics; each result's record (provenance) beside them, committed, not a metric
    assert stages["cells"]["outs"] == ["results/runs/tiny-t5/pt", "results/predictions/tiny-t5/pt",
                                       {"results/records/tiny-t5/pt": {"cache": False}}]
    assert stages["cells"]["metrics"] == [{"results/metrics/tiny-t5/pt": {"cache": False}}]
    assert "tasks" in stages["cells"]["params"]
    assert stages["knob"]["outs"] == ["results/knobs/runs/tiny-t5/pt", "results/knobs/predictions/tiny-t5/pt",
                                      {"results/knobs/records/tiny-t5/pt": {"cache": False}}]
    assert stages["fewshot"]["outs"] == ["results/fewshot/tiny-t5/pt"]
    assert stages["source_prompt"]["outs"] == ["results/source_prompts/tiny-t5/pt"]
    assert "data/prepared/tiny-t5" in stages["cells"]["deps"]
    data = yaml.safe_load(files[ROOT / "tiny-t5" / "dvc.yaml"])["stages"]["data"]
    assert data["cmd"] == "python stages/prepare_data.py --backbone tiny-t5" and data["outs"] == ["data/prepared/tiny-t5"]
    # the thread count changes CPU results: every stage that computes depends on it
    for kind in ("cells", "knob", "fewshot", "source_prompt"):
        assert "runtime.cpu_threads" in stages[kind]["params"], kind


def test_transfer_methods_depend_on_their_sources_and_pts_prompts(raw_params):
    for granularity, kinds in (("task", ("train", "evaluate")), ("method", ("cells",))):
        raw_params["runtime"]["stage_per"] = granularity
        files = expected_files(parse_params(raw_params))
        stages = yaml.safe_load(files[ROOT / "tiny-t5" / "attempt" / "dvc.yaml"])["stages"]
        assert "results/source_prompts/tiny-t5/pt" in stages["transfer_source"]["deps"]
        for kind in kinds:
            assert "results/transfer_sources/tiny-t5/attempt" in stages[kind]["deps"]


def test_a_grid_list_change_is_caught_until_the_files_are_rewritten(tmp_path, raw_params):
    shutil.copytree(REPO / "pipelines", tmp_path / "pipelines")
    raw_params["grid"]["methods"].remove("dpt")
    raw_params["backbones"].append("t5-small")
    params = parse_params(raw_params)
    problems = stale_files(params, tmp_path)
    assert "pipelines/tiny-t5/dpt/dvc.yaml (not in params.yaml)" in problems
    assert "pipelines/t5-small/pt/dvc.yaml (missing)" in problems
    with pytest.raises(ConfigError, match="Run `ptbench pipelines`"):
        require_current(params, tmp_path)
    (tmp_path / "pipelines/tiny-t5/dpt/dvc.lock").write_text("kept\n")
    write_pipelines(params, tmp_path)
    assert stale_files(params, tmp_path) == []
    assert not (tmp_path / "pipelines/tiny-t5/dpt/dvc.yaml").exists()
    assert (tmp_path / "pipelines/tiny-t5/dpt/dvc.lock").exists()  # its runs stay findable
    assert (tmp_path / "pipelines/t5-small/dvc.yaml").exists()


def test_the_paper_profile_splits_into_small_files(tmp_path):
    from ptbench.pipeline.profiles import apply_profile

    target = tmp_path / "params.yaml"
    target.write_text((REPO / "params.yaml").read_text())
    apply_profile("paper", target, REPO / "profiles")
    params = load_params(target)
    files = expected_files(params)
    methods = set(params.grid.methods) | set(params.grid.transfer) | set(params.source_prompts.methods)
    # a file per backbone and per (backbone, method), and the code fingerprints' stage and sets
    assert len(files) == len(params.backbones) * (1 + len(methods)) + 2
    assert "knob" in stage_kinds(files[ROOT / "t5-base" / "ept" / "dvc.yaml"])
    assert "knob" not in stage_kinds(files[ROOT / "t5-small" / "ept" / "dvc.yaml"])  # knob_runs.backbones


def test_a_zero_shot_stage_reads_the_grids_states_of_its_listed_methods_only(raw_params):
    """seed 003 Fig. 10 (right): zero_shot.methods on zero_shot.backbones get one scoring stage each, after the grid."""
    from ptbench.pipeline.generate import method_pipeline

    params = parse_params(raw_params)
    stages = method_pipeline(params, "tiny-t5", "ept_star")["stages"]
    assert "results/runs/tiny-t5/ept_star" in stages["zeroshot"]["deps"] and "zero_shot" in stages["zeroshot"]["params"]
    assert "results/zeroshot/records/tiny-t5/ept_star" in stages["rows"]["deps"]  # its rows read the transfers too
    assert "zeroshot" not in method_pipeline(params, "tiny-t5", "pt")["stages"]
    raw_params["zero_shot"]["methods"] = []
    assert "zeroshot" not in method_pipeline(parse_params(raw_params), "tiny-t5", "ept_star")["stages"]

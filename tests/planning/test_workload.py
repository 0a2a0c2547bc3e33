"""The plan's workload is the pipeline's: the same stages `ptbench pipelines` generates (plus the root
ones), and in each the runs its stage script runs."""
import yaml

from conftest import REPO
from ptbench.config import parse_params
from ptbench.pipeline.generate import expected_files
from ptbench.planning.workload import plan_stages, split_sizes


NQ_TRAIN, NQ_VALIDATION = 104071, 12836  # lucadiliello/naturalquestionsshortqa (hub.md)


def generated_addresses(params) -> set[str]:
    addresses = set()
    for path, text in expected_files(params).items():
        if path.name != "dvc.yaml":  # pipelines/code/sets.json: what the code stage fingerprints
            continue
        addresses |= {f"{path.as_posix()}:{name}" for name in yaml.safe_load(text)["stages"]}
    root = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    addresses |= {"platform", "mirror", "tables", *(f"variant@{b}" for b in params.backbones)}
    assert set(root) == {"platform", "mirror", "variant", "tables"}  # the root stages the plan adds by hand
    return addresses


def test_the_smoke_plan_has_every_stage_dvc_runs_and_no_other(raw_params):
    params = parse_params(raw_params)
    stages = plan_stages(params)
    assert len(stages) == len({s.address for s in stages})
    assert {s.address for s in stages} == generated_addresses(params)


def test_each_stage_holds_the_runs_its_script_runs(raw_params):
    params = parse_params(raw_params)
    by_address = {s.address: s for s in plan_stages(params)}
    seeds, tasks = len(params.seeds), params.tasks
    cells = by_address["pipelines/tiny-t5/pt/dvc.yaml:cells"]
    assert [r.task for r in cells.runs] == [t for t in tasks for _ in range(seeds)]
    assert {r.steps for r in cells.runs} == {params.train.steps}
    assert cells.workers == params.runtime.task_workers and cells.processes == 1
    knob = by_address["pipelines/tiny-t5/pt/dvc.yaml:knob"]
    entry = params.knob_runs["methods"]["pt"]
    assert len(knob.runs) == len(entry["points"]) * len(entry["tasks"]) * seeds
    few = by_address["pipelines/tiny-t5/pt/dvc.yaml:fewshot"]
    f = params.few_shot
    assert len(few.runs) == len(f.tasks) * len(f.ks) * len(f.sampling_seeds) * seeds
    assert sorted({r.batch_size for r in few.runs}) == sorted({min(params.train.batch_size, k) for k in f.ks})
    assert {r.steps for r in few.runs} == {f.steps}
    source = by_address["pipelines/tiny-t5/pt/dvc.yaml:source_prompt"]
    assert [r.test_examples for r in source.runs] == [0] * len(source.runs)  # sources are not scored on test
    assert len(by_address["pipelines/tiny-t5/mpt/dvc.yaml:transfer_source"].runs) == seeds  # MPT distils
    assert by_address["pipelines/tiny-t5/spot/dvc.yaml:transfer_source"].runs == ()  # SPoT only collects
    assert by_address["pipelines/tiny-t5/pt/dvc.yaml:rows"].runs == ()


def test_validation_passes_follow_the_eval_interval(raw_params):
    raw_params["train"].update(steps=70, eval_interval=30)
    run = next(s for s in plan_stages(parse_params(raw_params)) if s.kind == "variant").runs[0]
    assert (run.steps, run.validation_passes) == (70, 3)  # steps 30, 60 and the last


def test_split_sizes_follow_the_split_rules_on_the_mirror_and_on_the_hub(raw_params):
    smoke = parse_params(raw_params)
    rows = smoke.mirror.rows
    # RTE is a small task (DePT's rule): the validation split halved into validation and test
    assert split_sizes(smoke, "rte") == {"train": rows["train"], "validation": rows["validation"] // 2,
                                         "test": rows["validation"] - rows["validation"] // 2}
    raw_params["hub"].update(mirror=None, offline=False)
    raw_params.update(tasks=[*raw_params["tasks"], "nq"], backbones=["t5-base"], few_shot={**raw_params["few_shot"], "backbones": []},
                      knob_runs={"backbones": [], "methods": {}}, zero_shot={"methods": [], "backbones": []},
                      tuning={**raw_params["tuning"], "backbones": [], "spaces": {}})
    hub = parse_params(raw_params)
    assert split_sizes(hub, "rte") == {"train": 2490, "validation": 138, "test": 139}
    # MNLI by the official rule: the mismatched validation for validation, the matched one for test
    assert split_sizes(hub, "mnli") == {"train": 392702, "validation": 9832, "test": 9815}
    # NQ is large: 1,000 training rows carved out for validation, the official validation for test
    assert split_sizes(hub, "nq") == {"train": NQ_TRAIN - 1000, "validation": 1000, "test": NQ_VALIDATION}

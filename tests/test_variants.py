"""Named variants (params.yaml ``variants``): a registered method with several knobs (or the dropout)
changed, a row with its own stages and cache scope, swept like a method, placed in its paper row."""
import dataclasses

import pytest
import yaml

from ptbench.config import parse_params
from ptbench.errors import ConfigError
from ptbench.pipeline.knobs import with_point
from ptbench.pipeline.generate import ROOT, expected_files


def with_variant(raw: dict, name: str, entry: dict, grid: bool = True) -> dict:
    raw["variants"] = {**(raw.get("variants") or {}), name: entry}
    if grid:
        raw["grid"]["methods"].append(name)
    return raw


def test_a_variant_is_its_method_with_its_knobs_and_dropout(raw_params):
    raw_params["dropout"] = True
    params = parse_params(with_variant(raw_params, "ept_msp_plain",
                                       {"method": "ept_msp", "knobs": {"fusion": False, "projection": False},
                                        "dropout": False}))
    base, variant = params.method_config("ept_msp"), params.method_config("ept_msp_plain")
    assert type(variant) is type(base)
    changed = {f.name for f in dataclasses.fields(base) if getattr(base, f.name) != getattr(variant, f.name)}
    assert changed == {"fusion", "projection"}
    assert params.registered_method("ept_msp_plain") == "ept_msp" and params.registered_method("pt") == "pt"
    assert params.method_param_keys("ept_msp_plain") == ["methods.ept_msp", "variants.ept_msp_plain"]
    assert params.method_param_keys("pt") == ["methods.pt"]
    assert params.for_method("ept_msp_plain").dropout is False
    assert params.for_method("ept_msp").dropout is True and params.for_method("pt") is params


@pytest.mark.parametrize("entry, message", [
    ({"method": "nope", "knobs": {"lr": 0.1}}, "variants.v.method: unknown value 'nope'; allowed: adamix, adapter"),
    ({"knobs": {"lr": 0.1}}, "variants.v: missing key method"),
    ({"method": "pt", "knobs": {"colour": 1}}, "variants.v.knobs: unknown key(s) colour"),
    ({"method": "pt", "knobs": {"lr": -1}}, "variants.v.knobs.lr: must be a positive number"),
    ({"method": "pt", "knobs": {}}, "variants.v: equals methods.pt"),
    ({"method": "pt", "dropout": "no"}, "variants.v.dropout: must be true, false or absent"),
    ({"method": "pt", "knobs": {"lr": 0.1}, "seed": 3}, "variants.v: unknown key(s) seed"),
])
def test_a_bad_variant_is_one_line_naming_the_key(raw_params, entry, message):
    with pytest.raises(ConfigError) as err:
        parse_params(with_variant(raw_params, "v", entry, grid=False))
    assert str(err.value).startswith(message) and "\n" not in str(err.value), str(err.value)


def test_a_variant_may_not_take_a_registered_name(raw_params):
    with pytest.raises(ConfigError, match="variants: 'dept' is a registered method"):
        parse_params(with_variant(raw_params, "dept", {"method": "ept_msp", "knobs": {"fusion": False}}, grid=False))


def test_the_grid_names_only_methods_and_variants(raw_params):
    raw_params["grid"]["methods"].append("ept_msp_typo")
    with pytest.raises(ConfigError, match="grid.methods: unknown value 'ept_msp_typo'; allowed: .*ept_msp_no_fusion"):
        parse_params(raw_params)


def test_a_variant_gets_its_own_pipeline_scoped_to_its_params(raw_params):
    params = parse_params(with_variant(raw_params, "ept_msp_plain", {"method": "ept_msp", "knobs": {"fusion": False}}))
    stages = yaml.safe_load(expected_files(params)[ROOT / "tiny-t5" / "ept_msp_plain" / "dvc.yaml"])["stages"]
    for stage in stages.values():
        assert "methods.ept_msp_plain" not in stage.get("params", [])
    training = [s for name, s in stages.items() if name in ("cells", "train", "evaluate", "knob")]
    assert training and all({"methods.ept_msp", "variants.ept_msp_plain"} <= set(s["params"]) for s in training)
    assert all("--method ept_msp_plain" in s["cmd"] for s in stages.values())
    # the method's own pipeline does not depend on the variant's knobs: editing them re-runs only the variant
    own = yaml.safe_load(expected_files(params)[ROOT / "tiny-t5" / "ept_msp" / "dvc.yaml"])["stages"]
    assert not any("variants" in p for s in own.values() for p in s.get("params", []))


def test_a_sweep_can_start_from_a_variant(raw_params):
    with_variant(raw_params, "ept_msp_plain", {"method": "ept_msp", "knobs": {"fusion": False}})
    raw_params["knob_runs"]["methods"]["ept_msp_plain"] = {"tasks": ["rte"], "points": ["num_experts=2"]}
    params = parse_params(raw_params)
    point = with_point(params, "ept_msp_plain", "num_experts=2")
    assert point.method_config("ept_msp_plain").num_experts == 2
    assert point.method_config("ept_msp_plain").fusion is False  # the variant's knobs stay
    assert point.method_config("ept_msp") == params.method_config("ept_msp")  # the method's own untouched
    raw_params["knob_runs"]["methods"]["ept_msp_plain"]["points"] = ["fusion=false"]
    with pytest.raises(ConfigError, match="'fusion=false' equals ept_msp_plain's own configuration"):
        parse_params(raw_params)


def test_the_report_places_a_variant_in_its_paper_row_and_keeps_the_methods_own_run(tmp_path):
    from ptbench.report.cells import RunIndex
    from ptbench.report.rows import build_rows

    from report.report_fixtures import labels, report_settings, write_run

    gold = [["1"]] * 20
    results = tmp_path / "results"
    on = {"decomposition": True, "fusion": True, "projection": True}
    write_run(results, "ept_msp", "rte", {"0": labels(16, 20)}, gold, config=on)
    write_run(results, "ept_msp_no_fusion", "rte", {"0": labels(12, 20)}, gold, config={**on, "fusion": False},
              registered_method="ept_msp")
    settings = report_settings(20)
    rows = [r for m in ("ept_msp", "ept_msp_no_fusion") for r in build_rows(results, m, settings, 64)["results"]]
    assert {(r["method"], r["registered_method"], r["config"]["fusion"]) for r in rows} == {
        ("ept_msp", "ept_msp", True), ("ept_msp_no_fusion", "ept_msp", False)}
    index = RunIndex(rows, 10.0)
    key = {"kind": "grid", "backbone": "t5-small", "task": "rte", "method": "ept_msp"}
    notes = []
    assert index.find(key, notes)["method"] == "ept_msp" and not notes  # a plain method row: the method's own
    found = index.find({**key, "where": {"config.fusion": False, "config.projection": True}})
    assert found["method"] == "ept_msp_no_fusion"  # seed 001 Table 2's decomposition + projection row
    assert index.find({**key, "method": "ept_msp_no_fusion"})["method"] == "ept_msp_no_fusion"  # the grid table's row
    assert index.find({**key, "where": {"config.projection": False}}) is None

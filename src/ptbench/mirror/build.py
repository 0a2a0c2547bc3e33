"""Build the local hub mirror: datasets in hub layout, a tokenizer, a pre-trained tiny T5.

Layout (the hub's, so that ``load_dataset`` / ``from_pretrained`` run unchanged):

    <root>/datasets/<repo id>/README.md                     # YAML `configs:` -> data files
    <root>/datasets/<repo id>/<config>/<split>-00000-of-00001.parquet
    <root>/models/<hub id>/{config.json, model.safetensors, tokenizer.json, spiece.model, ...}
"""
from __future__ import annotations

import collections
import hashlib
import json
import math
import shutil
import string
from pathlib import Path

import yaml

from ptbench.mirror import synthetic
from ptbench.mirror.schemas import SCHEMAS, blank_unlabeled


def _rows_for_split(split: str, rows: dict[str, int]) -> int:
    kind = "train" if split == "train" else ("test" if split.startswith("test") else "validation")
    return rows[kind]


def _split_seed(seed: int, repo: str, config: str, split: str) -> int:
    """A split's rows depend on its own name only, so adding a dataset changes no other one."""
    return seed * 1_000_003 + int(hashlib.sha256(f"{repo}/{config}/{split}".encode()).hexdigest()[:8], 16)


def write_datasets(root: Path, world: synthetic.World, rows: dict[str, int], seed: int) -> list[str]:
    """Write every mirrored dataset; returns the repo ids written."""
    from datasets import Dataset

    configs_by_repo: dict[str, list[dict]] = {}
    for (repo, config), generator in sorted(synthetic.HUB_GENERATORS.items()):
        schema = SCHEMAS[(repo, config)]
        data_files = []
        for split in schema.splits:
            records = synthetic.generate(generator, world, _rows_for_split(split, rows), _split_seed(seed, repo, config, split))
            if split in schema.unlabeled_splits:
                records = [blank_unlabeled(schema, r) for r in records]
            relative = f"{config}/{split}-00000-of-00001.parquet"
            target = root / "datasets" / repo / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            Dataset.from_list(records, features=schema.features).to_parquet(str(target))
            data_files.append({"split": split, "path": relative})
        configs_by_repo.setdefault(repo, []).append({"config_name": config, "data_files": data_files})
    for repo, configs in configs_by_repo.items():
        card = {"configs": configs}
        (root / "datasets" / repo / "README.md").write_text(
            "---\n" + yaml.safe_dump(card, sort_keys=False) + "---\n"
            f"# {repo} (ptbench synthetic mirror)\nRows follow the hub schema; labels follow simple rules.\n")
    return sorted(configs_by_repo)


def train_tokenizer(model_dir: Path, corpus: list[str], min_count: int = 2) -> None:
    """A word-level unigram vocabulary counted on the corpus, saved as a T5 tokenizer.

    Every word seen ``min_count`` times becomes one piece ("▁bako") scored by its log
    frequency; single characters stay as the fallback, so any text round-trips. (sentencepiece's
    trainers cap this corpus at ~360 mostly sub-word pieces, which makes copying a word a
    multi-token skill the tiny backbone does not learn in seconds.) transformers 5's
    ``T5Tokenizer(vocab_file=...)`` ignores the file; ``T5Tokenizer(vocab=[(piece, score)])`` is
    the supported constructor, and ``save_pretrained`` writes the hub's ``tokenizer.json`` layout.
    """
    from transformers import T5Tokenizer

    words = collections.Counter(word for line in corpus for word in line.split())
    chars = sorted({ch for line in corpus for ch in line if not ch.isspace()} | set(string.printable.strip()))
    total = sum(words.values())
    pieces = [("▁" + w, math.log(c / total)) for w, c in sorted(words.items()) if c >= min_count]
    floor = min(score for _, score in pieces) - 1.0
    pieces += [("▁", floor)] + [(ch, floor - 1.0) for ch in chars]
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + pieces
    model_dir.mkdir(parents=True, exist_ok=True)
    T5Tokenizer(vocab=vocab, extra_ids=0).save_pretrained(str(model_dir))


def build_mirror(root: Path, cfg, backbone_hub_id: str) -> dict:
    """Everything the smoke profile loads; returns a summary for the stage's metrics file."""
    from ptbench.mirror.pretrain import mixture, pretrain_backbone

    if root.exists():
        shutil.rmtree(root)
    world = synthetic.World.build(cfg.lexicon_size, cfg.seed)
    repos = write_datasets(root, world, cfg.rows, cfg.seed)
    rules, unprefixed = cfg.pretrain["rules"], cfg.pretrain["unprefixed"]
    train_mix = mixture(world, cfg.pretrain["rows_per_rule"], seed=cfg.seed + 7, rules=rules, unprefixed=unprefixed)
    model_dir = root / "models" / backbone_hub_id
    train_tokenizer(model_dir, [f"{e.input} {e.target}" for e in train_mix])
    probe_mix = mixture(world, cfg.pretrain["probe_rows"], seed=cfg.seed + 8, rules=rules, unprefixed=unprefixed)
    probe = pretrain_backbone(model_dir, cfg, train_mix, probe_mix)
    summary = {"datasets": repos, "backbone": backbone_hub_id, **probe}
    (root / "mirror.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
    return summary


# results/mirror.json holds the numbers (a DVC metric: `dvc metrics show` lists numbers only);
# results/mirror_info.json what they describe (the backbone, the datasets).
SUMMARY_NUMBERS = ("pretrain_final_loss", "probe_accuracy_with_prefix", "probe_accuracy_without_prefix", "probe_chance")


def write_summary(results_dir: Path, summary: dict) -> None:
    """The mirror's summary beside the results, as the mirror stage records it: numbers and the rest apart."""
    numbers = {key: value for key, value in summary.items() if key in SUMMARY_NUMBERS}
    info = {key: value for key, value in summary.items() if key not in numbers}
    Path(results_dir).mkdir(parents=True, exist_ok=True)
    (Path(results_dir) / "mirror_info.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    (Path(results_dir) / "mirror.json").write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")

"""Stage 2: load a task's hub dataset, build its splits, format text-to-text and tokenise.

Done once per (task, tokenizer, max length) and reused by every method's stages. The output
folder holds ``splits.json`` (protocol, sizes, indices hash) and one ``<split>.pt`` per split.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ptbench.data.splits import plan_splits, split_hash
from ptbench.errors import DataError
from ptbench.tasks.spec import TaskSpec


@dataclass
class PreparedSplit:
    """Tokenised examples of one split; references keep every gold answer for scoring."""

    input_ids: list[list[int]]
    label_ids: list[list[int]]
    references: list[list[str]]

    def __len__(self) -> int:
        return len(self.input_ids)

    def save(self, path: Path) -> None:
        torch.save({"input_ids": self.input_ids, "label_ids": self.label_ids, "references": self.references}, path)

    @classmethod
    def load(cls, path: Path) -> "PreparedSplit":
        if not path.exists():
            raise DataError(f"{path}: prepared split missing (run the data stage: dvc repro data)")
        return cls(**torch.load(path))


def check_schema(spec: TaskSpec, dataset: Any) -> dict[str, int]:
    """The hub splits the spec needs exist, are non-empty and hold the spec's fields."""
    sizes = {}
    for role, split in spec.splits.items():
        if split not in dataset:
            raise DataError(f"task '{spec.name}': split '{split}' ({role}) not in the dataset; has {', '.join(dataset)}")
        columns = set(dataset[split].column_names)
        missing = [f for f in spec.required_fields if f not in columns]
        if missing:
            raise DataError(f"task '{spec.name}': field(s) {', '.join(missing)} missing in split '{split}'; "
                            f"columns: {', '.join(sorted(columns))}")
        if len(dataset[split]) == 0:
            raise DataError(f"task '{spec.name}': split '{split}' is empty")
        sizes[split] = len(dataset[split])
    return sizes


def prepare_task(spec: TaskSpec, dataset: Any, tokenizer: Any, data_cfg, out_dir: Path) -> dict[str, Any]:
    sizes = check_schema(spec, dataset)
    plan = plan_splits(spec, sizes, data_cfg.split_protocol, data_cfg.split_seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {"task": spec.name, "protocol": data_cfg.split_protocol, "split_seed": data_cfg.split_seed,
               "split_hash": split_hash(plan), "hub": vars(spec.hub), "sizes": {}}
    for role, part in plan.items():
        rows = dataset[part.source].select(part.indices) if part.indices else []
        texts, references = [], []
        for row in rows:
            texts.append(spec.format_input(row))
            try:
                references.append(spec.targets(row))
            except (KeyError, ValueError, TypeError) as exc:
                raise DataError(f"task '{spec.name}': bad target in split '{part.source}': {exc!r}") from None
        inputs = tokenizer(texts, truncation=True, max_length=data_cfg.max_length).input_ids if texts else []
        labels = tokenizer([r[0] for r in references], truncation=True,
                           max_length=data_cfg.max_target_length).input_ids if texts else []
        PreparedSplit(inputs, labels, references).save(out_dir / f"{role}.pt")
        summary["sizes"][role] = len(texts)
    if summary["sizes"]["train"] == 0 or summary["sizes"]["validation"] == 0:
        raise DataError(f"task '{spec.name}': the split protocol left an empty split: {summary['sizes']}")
    (out_dir / "splits.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
    return summary

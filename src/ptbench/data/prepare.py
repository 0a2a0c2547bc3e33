"""Stage 2: load a task's hub dataset, build its splits, format text-to-text and tokenise.

Done once per (task, tokenizer, max length, scoring mode) and reused by every method's stages.
The output folder holds ``splits.json`` (protocol, scoring, sizes, indices hash) and one
``<split>.safetensors`` per split (``split_path``; tensors and JSON, no pickle: ptbench.artifacts).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ptbench.data.splits import plan_splits, split_hash
from ptbench.errors import DataError
from ptbench.tasks.spec import TaskSpec


@dataclass
class PreparedSplit:
    """Tokenised examples of one split; references keep every gold answer for scoring, groups
    the key of grouped metrics (MultiRC's question), empty when the task has none."""

    input_ids: list[list[int]]
    label_ids: list[list[int]]
    references: list[list[str]]
    groups: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.input_ids)

    def save(self, path: Path) -> None:
        """The ragged token lists as flat int64 tensors with offsets, the texts as the header's JSON."""
        from ptbench.artifacts import save_tree

        save_tree(path, {**_ragged("input_ids", self.input_ids), **_ragged("label_ids", self.label_ids),
                         "references": self.references, "groups": self.groups})

    @classmethod
    def load(cls, path: Path) -> "PreparedSplit":
        from ptbench.artifacts import load_tree

        if not path.exists():
            raise DataError(f"{path}: prepared split missing (run the data stage: dvc repro data)")
        tree = load_tree(path)
        return cls(_unragged(tree, "input_ids"), _unragged(tree, "label_ids"), tree["references"], tree["groups"])

    def subset(self, indices: list[int]) -> "PreparedSplit":
        pick = lambda values: [values[i] for i in indices] if values else []  # noqa: E731
        return PreparedSplit(pick(self.input_ids), pick(self.label_ids), pick(self.references), pick(self.groups))


def split_path(data_dir: Path, role: str) -> Path:
    """A prepared split's file (role: train, validation, test)."""
    return Path(data_dir) / f"{role}.safetensors"


def _ragged(name: str, rows: list[list[int]]) -> dict[str, torch.Tensor]:
    lengths = torch.tensor([len(row) for row in rows], dtype=torch.int64)
    flat = torch.tensor([token for row in rows for token in row], dtype=torch.int64)
    return {f"{name}_flat": flat, f"{name}_lengths": lengths}


def _unragged(tree: dict, name: str) -> list[list[int]]:
    flat, lengths = tree[f"{name}_flat"].tolist(), tree[f"{name}_lengths"].tolist()
    rows, start = [], 0
    for length in lengths:
        rows.append(flat[start:start + length])
        start += length
    return rows


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
        check_class_names(spec, dataset[split].features.get(spec.target.field), split)
        sizes[split] = len(dataset[split])
    return sizes


def check_class_names(spec: TaskSpec, feature: Any, split: str) -> None:
    """A ClassLabel target's names, in id order, are the spec's ``target.names`` (label_words: names
    writes them as the targets): a hub revision that renamed or reordered its classes stops here."""
    hub_names = getattr(feature, "names", None)
    if spec.target.kind != "label" or hub_names is None:
        return  # a plain-string label (SciTail, WinoGrande) names itself
    ours = [spec.target.names.get(str(label)) for label in range(len(hub_names))]
    if ours != list(hub_names):
        raise DataError(f"task '{spec.name}': split '{split}' labels its classes {list(hub_names)}, the spec's "
                        f"target.names say {ours} (src/ptbench/tasks/specs/{spec.name}.yaml)")


def format_rows(spec: TaskSpec, rows: Any, source: str, training: bool,
                prefix: str | None) -> tuple[list[str], list[str], list[list[str]], list[str]]:
    """Inputs, training targets, references and group keys of a split's rows (answers tasks may
    give several examples per row, see Target.examples)."""
    texts, targets, references, groups = [], [], [], []
    for number, row in enumerate(rows):
        try:
            text, golds = spec.format_input(row, prefix), spec.targets(row)
            group = spec.group_key(row) if spec.group else None
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise DataError(f"task '{spec.name}': row {number} of split '{source}' does not fit the spec "
                            f"(field or value {exc!r}); target field '{spec.target.field}'") from None
        for target, refs in spec.target.examples(golds, training):
            texts.append(text)
            targets.append(target)
            references.append(refs)
            if group is not None:
                groups.append(group)
    return texts, targets, references, groups


def references_from_labels(label_ids: list[list[int]], tokenizer: Any) -> list[list[str]]:
    """Each example's reference as the reference code scores it (DePT's MRQA and SQuAD): its labels (the
    target tokenised to ``max_target_length``, EOS included) decoded by its post-processor, special tokens
    skipped, tokenization spaces cleaned up as its transformers did (" ." -> "."), stripped."""
    decoded = tokenizer.batch_decode(label_ids, skip_special_tokens=True, clean_up_tokenization_spaces=True)
    return [[text.strip()] for text in decoded]


def prepare_task(spec: TaskSpec, dataset: Any, tokenizer: Any, data_cfg, out_dir: Path) -> dict[str, Any]:
    sizes = check_schema(spec, dataset)
    plan = plan_splits(spec, sizes, data_cfg.split_protocol, data_cfg.split_seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {"task": spec.name, "protocol": data_cfg.split_protocol, "split_seed": data_cfg.split_seed,
               "scoring": spec.scoring, "label_words": spec.label_words, "task_prefix": data_cfg.task_prefix,
               "split_hash": split_hash(plan),
               "hub": vars(spec.hub), "hub_rows_expected": spec.hub_rows, "hub_rows": sizes, "sizes": {}}
    prefix = spec.name if data_cfg.task_prefix else None
    from ptbench.progress import Progress

    total = sum(len(part.indices) for part in plan.values())  # a line every 10 s on a large task (MNLI: ~1 min)
    progress, done = Progress(f"prepare {spec.name} (rows)", total, quiet_if_quick=True), 0
    for role, part in plan.items():
        rows = dataset[part.source].select(part.indices) if part.indices else []
        texts, targets, references, groups = format_rows(spec, rows, part.source, role == "train", prefix)
        inputs = tokenizer(texts, truncation=True, max_length=data_cfg.input_length(spec.name)).input_ids if texts else []
        labels = tokenizer(targets, truncation=True, max_length=data_cfg.max_target_length).input_ids if texts else []
        if spec.target.reference_from_labels and labels:
            references = references_from_labels(labels, tokenizer)
        PreparedSplit(inputs, labels, references, groups).save(split_path(out_dir, role))
        summary["sizes"][role] = len(texts)
        done += len(part.indices)
        progress.update(done)
    if summary["sizes"]["train"] == 0 or summary["sizes"]["validation"] == 0:
        raise DataError(f"task '{spec.name}': the split protocol left an empty split: {summary['sizes']}")
    (out_dir / "splits.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
    return summary

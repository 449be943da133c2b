"""The dataset card: README.md with a YAML header (Hugging Face hub conventions)."""
from __future__ import annotations

import json

import yaml


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return label
    return "n>10M"


def _n_decontaminated(manifest: dict) -> int:
    """The true count (the database copy of a manifest keeps only the first entries of the list)."""
    dec = manifest.get("decontamination", {})
    n = dec.get("n_excluded")
    return int(n) if n is not None else len(dec.get("excluded", []))


def render(*, manifest: dict, data_files: dict[str, str]) -> str:
    """README.md text for a version; ``data_files`` = {split: relative parquet/jsonl path}."""
    counts = manifest.get("counts", {}).get("splits", {})
    total = sum(counts.values())
    languages = sorted(k for k in manifest.get("language_distribution", {}) if k and k != "unknown")
    header = {
        "pretty_name": f"{manifest.get('collection')} {manifest.get('name')}",
        "language": languages or ["multilingual"],
        "task_categories": ["text-generation"],
        "size_categories": [_size_category(total)],
        "tags": ["refinery", "instruction-tuning", "sft"],
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": p} for s, p in data_files.items()]}],
    }
    lines = [
        "---", yaml.safe_dump(header, allow_unicode=True, sort_keys=False).rstrip(), "---", "",
        f"# {manifest.get('collection')} {manifest.get('name')}", "",
        "Instruction dataset exported by Refinery. Each row is a chat in OpenAI messages format "
        "(`messages`: list of `{role, content}`), with `id` (the Refinery sample id) and `meta`.", "",
        "## Splits", "", "| split | rows |", "|---|---|",
        *[f"| {s} | {n} |" for s, n in counts.items()], "",
        "## Provenance", "",
        f"- Created by: {manifest.get('created_by') or 'unknown'} at {manifest.get('created_at')}",
        f"- Parent version: {manifest.get('parent') or 'none'}",
        f"- Pipeline runs: {', '.join(str(r.get('id')) for r in manifest.get('pipeline_runs', [])) or 'none'}",
        f"- Decontaminated samples excluded: {_n_decontaminated(manifest)}",
        f"- Augmented samples left out (their original is in validation/test): "
        f"{manifest.get('splits', {}).get('augmented_left_out', 0)}",
        "- Personal data found by the PII step is replaced by placeholders such as `[PERSON_1]`.", "",
        "## Filter spec", "", "```json", json.dumps(manifest.get("spec", {}), ensure_ascii=False, indent=2), "```", "",
    ]
    return "\n".join(lines)

"""Text metrics for generated answers: BLEU (sacrebleu), ROUGE-L (rouge-score), exact match, token F1.

One tokenisation for all of them that works for Chinese and English: lower-cased ASCII letter/digit
runs and single CJK characters. On ASCII text it is exactly rouge-score's default tokenizer.
"""
from __future__ import annotations

import re
from collections import Counter

_TOKEN_RE = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def text_tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower())


class _Tokenizer:
    """rouge-score tokenizer interface."""

    def tokenize(self, text: str) -> list[str]:
        return text_tokens(text)


def bleu(predictions: list[str], references: list[str]) -> float:
    import sacrebleu

    tokenize = "zh" if any(_CJK_RE.search(r) for r in references) else "13a"
    return float(sacrebleu.corpus_bleu(predictions, [references], tokenize=tokenize).score)


def rouge_l(predictions: list[str], references: list[str]) -> float:
    """Mean ROUGE-L F-measure × 100."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_Tokenizer())
    if not predictions:
        return 0.0
    return 100.0 * sum(scorer.score(r, p)["rougeL"].fmeasure for p, r in zip(predictions, references)) / len(predictions)


def exact_match(predictions: list[str], references: list[str]) -> float:
    if not predictions:
        return 0.0
    return 100.0 * sum(text_tokens(p) == text_tokens(r) for p, r in zip(predictions, references)) / len(predictions)


def token_f1(predictions: list[str], references: list[str]) -> float:
    """SQuAD-style token F1 (mean × 100)."""
    if not predictions:
        return 0.0
    total = 0.0
    for p, r in zip(predictions, references):
        pt, rt = text_tokens(p), text_tokens(r)
        if not pt and not rt:
            total += 1.0
            continue
        common = sum((Counter(pt) & Counter(rt)).values())
        if common:
            prec, rec = common / len(pt), common / len(rt)
            total += 2 * prec * rec / (prec + rec)
    return 100.0 * total / len(predictions)


def text_metrics(predictions: list[str], references: list[str]) -> dict[str, float]:
    return {"bleu": bleu(predictions, references), "rouge_l": rouge_l(predictions, references),
            "exact_match": exact_match(predictions, references), "token_f1": token_f1(predictions, references)}

"""Document → question/answer pairs with a configurable generator (``curation.generation`` spec).

The document is cut into passages (paragraphs packed up to ``PASSAGE_CHARS``); for each passage the
generator writes a question the passage answers, then the answer from the passage. Base models (the
bundled LM) get a few-shot transcript and complete one line at a time; chat models / OpenAI-compatible
endpoints get a chat prompt (few-shot turns; the reply is read as ``Question: …`` / ``Answer: …`` lines,
``问题:`` / ``答案:`` in Chinese). Pairs with an empty or echoed question/answer (``qa_pair_ok``) are dropped.
"""
from __future__ import annotations

import dataclasses
import re

from curation.generation import get_generator

PASSAGE_CHARS = 600
QA_MAX_NEW_TOKENS = 96
FEW_SHOT_QA = {
    "zh": ("信用卡逾期超过90天会影响个人征信,并产生每日万分之五的罚息。",
           "信用卡逾期90天以上会有什么后果?", "会影响个人征信,并产生每日万分之五的罚息。"),
    "en": ("Customers can reset their online banking password in the mobile app under Settings > Security.",
           "Where can I reset my online banking password?",
           "In the mobile app, under Settings > Security."),
}
LABELS = {"zh": ("段落", "问题", "答案"), "en": ("Passage", "Question", "Answer")}


@dataclasses.dataclass
class QAPair:
    question: str
    answer: str
    passage: str


def passages(text: str, max_chars: int = PASSAGE_CHARS) -> list[str]:
    paras = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    out: list[str] = []
    cur = ""
    for p in paras:
        while len(p) > max_chars:  # a very long paragraph: cut at a sentence end when possible
            cut = max(p.rfind(ch, 0, max_chars) for ch in "。.!?!?")
            cut = cut + 1 if cut > max_chars // 3 else max_chars
            out.append(p[:cut].strip())
            p = p[cut:].strip()
        if cur and len(cur) + len(p) + 1 > max_chars:
            out.append(cur)
            cur = p
        else:
            cur = f"{cur}\n{p}" if cur else p
    if cur:
        out.append(cur)
    return out


def _flat(text: str) -> str:
    return " ".join(text.split())


def _completion_prompt(passage: str, lang: str, question: str | None = None) -> str:
    p, q, a = LABELS[lang]
    shot_p, shot_q, shot_a = FEW_SHOT_QA[lang]
    sep = ":" if lang == "zh" else ": "
    head = f"{p}{sep}{shot_p}\n{q}{sep}{shot_q}\n{a}{sep}{shot_a}\n\n{p}{sep}{_flat(passage)}\n{q}{sep}"
    return head if question is None else f"{head}{question}\n{a}{sep}"


def _chat_prompt(passage: str, lang: str) -> list[dict]:
    p, q, a = LABELS[lang]
    instruction = ("Write one question that the passage answers, and its answer from the passage. "
                   f"Reply exactly as two lines: '{q}: ...' and '{a}: ...'.")
    shot_p, shot_q, shot_a = FEW_SHOT_QA[lang]
    return [{"role": "system", "content": instruction},
            {"role": "user", "content": f"{p}: {shot_p}"}, {"role": "assistant", "content": f"{q}: {shot_q}\n{a}: {shot_a}"},
            {"role": "user", "content": f"{p}: {_flat(passage)}"}]


def _parse_chat(text: str, lang: str) -> tuple[str, str]:
    _, q, a = LABELS[lang]
    m = re.search(rf"{q}\s*[::]\s*(.+?)\s*\n+\s*{a}\s*[::]\s*(.+)", text, re.S)
    return (m.group(1).strip(), m.group(2).strip().split("\n")[0]) if m else ("", "")


def _bare(text: str) -> str:
    """Letters and digits only (casefolded): "说明X？" and "说明X" are the same text."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def qa_pair_ok(question: str, answer: str, lang: str) -> bool:
    """A usable pair: both present, the answer not the question again, not the prompt's example."""
    q, a = question.strip(), answer.strip()
    return bool(q and a and _bare(q) and _bare(q) != _bare(a) and q not in FEW_SHOT_QA[lang])


def document_qa_pairs(text: str, *, language: str, generator_spec: str = "", max_pairs: int = 3) -> list[QAPair]:
    lang = "zh" if language.startswith("zh") else "en"
    chunks = passages(text)[:max_pairs]
    if not chunks:
        return []
    gen = get_generator(generator_spec or None)
    if hasattr(gen, "complete") and not gen.is_chat_model:
        questions = gen.complete([_completion_prompt(c, lang) for c in chunks], max_new_tokens=QA_MAX_NEW_TOKENS)
        answers = gen.complete([_completion_prompt(c, lang, q) for c, q in zip(chunks, questions)],
                               max_new_tokens=QA_MAX_NEW_TOKENS)
        raw = list(zip(questions, answers))
    else:
        raw = [_parse_chat(t, lang) for t in gen.generate([_chat_prompt(c, lang) for c in chunks],
                                                          max_new_tokens=QA_MAX_NEW_TOKENS)]
    out = []
    for chunk, (q, a) in zip(chunks, raw):
        if qa_pair_ok(q, a, lang):
            out.append(QAPair(q.strip(), a.strip(), chunk))
    return out

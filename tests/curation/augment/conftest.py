"""Fixtures for augmentation tests: a collection with samples in train / unassigned / held-out splits; a tiny
Marian seq2seq model built from a config (the seq2seq back-translation backend's plumbing)."""
from __future__ import annotations

import pytest

from curation.hashing import messages_hash


def make_sample(collection, messages, **fields):
    from curation.models import Sample

    return Sample.objects.create(collection=collection, messages=messages, content_hash=messages_hash(messages),
                                 **fields)


@pytest.fixture
def collection(db):
    from curation.models import Collection

    return Collection.objects.create(name="bank", domain="finance")


@pytest.fixture
def samples(collection):
    """Six English/Chinese samples: 3 trainable, 1 validation, 1 test, 1 already augmented."""
    train = [
        make_sample(collection, [{"role": "user", "content": "How can I increase the limit of my credit card to 5000 dollars?"},
                                 {"role": "assistant", "content": "You can request it in the app."}],
                    split="train", language="en", intent="limit_increase", entities={"amount": ["5000 dollars"]}),
        make_sample(collection, [{"role": "user", "content": "我的白金卡被扣了300元年费,能退吗?"},
                                 {"role": "assistant", "content": "可以申请退还。"}],
                    language="zh", intent="fee_refund", entities={"card_type": ["白金卡"]}),
        make_sample(collection, [{"role": "user", "content": "Please send the statement to [PERSON_1] before Friday."},
                                 {"role": "assistant", "content": "Done."}], split="train", language="en"),
    ]
    held = [
        make_sample(collection, [{"role": "user", "content": "What is the interest rate of my loan account?"},
                                 {"role": "assistant", "content": "It is 3.5%."}], split="validation", language="en"),
        make_sample(collection, [{"role": "user", "content": "Why was my payment of 120 dollars declined today?"},
                                 {"role": "assistant", "content": "Please check your balance."}], split="test", language="en"),
    ]
    return {"train": train, "held": held}


SENTENCES_ZH = ["我想查询一下我的账户余额。", "信用卡年费300元能退吗?"]
VOCAB_EXTRA = "我的白金卡被扣了元年费能退吗可以申请还。请问贷记怎么办理"  # the samples' characters


@pytest.fixture
def tiny_marian(tmp_path):
    """A Marian model built from a config (random weights) with a character-level tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    chars = sorted(set("".join(SENTENCES_ZH) + VOCAB_EXTRA + "abcdefghijklmnopqrstuvwxyz ?.,0123456789"))
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{c: i + 3 for i, c in enumerate(chars)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    config = MarianConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                          decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=0, eos_token_id=1,
                          decoder_start_token_id=0, forced_eos_token_id=1)
    import torch

    torch.manual_seed(0)  # random weights, but the same ones every run
    model = MarianMTModel(config)
    path = tmp_path / "tiny-marian"
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path

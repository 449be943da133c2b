"""Data preparation, packing, config and metrics — fast checks with the real tokenizer/model."""
import json

import pytest
import torch

from training.basemodels import bundled_model_ensure
from training.trainer.config import ConfigError, config_apply_overrides, config_validate
from training.trainer.data import (IGNORE, DataError, Example, collate_rows, encode_conversation, encode_file,
                                   pack_rows)
from training.trainer.metrics import bleu, exact_match, rouge_l, token_f1
from training.trainer.modeling import LossModule, load_model, load_tokenizer


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(bundled_model_ensure())[0]


def test_bundled_model_has_distinct_pad_and_chat_template(tok):
    assert tok.pad_token_id is not None and tok.pad_token_id != tok.eos_token_id
    assert "<|im_start|>" in tok.chat_template


def test_masked_labels_exactly_the_assistant_turns(tok):
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"},
            {"role": "assistant", "content": "Hello! How can I help?"}, {"role": "user", "content": "Price?"},
            {"role": "assistant", "content": "价格是 12 元。"}]
    ids, labels = encode_conversation(tok, msgs, 512)
    assert len(ids) == len(labels)
    loss_text = tok.decode([t for t, lab in zip(ids, labels) if lab != IGNORE])
    # every assistant token (and its end-of-turn marker) carries loss, in order
    assert loss_text.replace("\n", "") == "Hello! How can I help?<|im_end|>价格是 12 元。<|im_end|>"
    # no prompt token does: the masked part is exactly the rest of the rendered text
    prompt_text = tok.decode([t for t, lab in zip(ids, labels) if lab == IGNORE])
    for part in ("Be brief.", "Hi there", "Price?", "<|im_start|>assistant"):
        assert part in prompt_text
    assert "Hello" not in prompt_text and "价格" not in prompt_text
    assert all(lab == t for t, lab in zip(ids, labels) if lab != IGNORE)


def test_hard_error_when_truncation_removes_every_answer_token(tok, tmp_path):
    path = tmp_path / "train.jsonl"
    recs = [{"id": "ok", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
            {"id": "long", "messages": [{"role": "user", "content": "word " * 80}, {"role": "assistant", "content": "yes"}]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    with pytest.raises(DataError, match=r"1 sample\(s\) have no tokens that carry loss.*sample long \(line 2\)"):
        encode_file(tok, path, 48)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "only a question"}]}) + "\n")
    with pytest.raises(DataError, match="line 1.*no assistant message"):
        encode_file(tok, bad, 48)


def test_packing_resets_positions_and_never_crosses_examples():
    exs = [Example("a", [5, 6, 7], [IGNORE, 6, 7]), Example("b", [8, 9], [IGNORE, 9]), Example("c", [1, 2, 3, 4], [IGNORE, IGNORE, 3, 4])]
    rows = pack_rows(exs, 8)
    assert sorted(i for r in rows for i in r) == [0, 1, 2] and all(sum(len(exs[i].input_ids) for i in r) <= 8 for r in rows)
    ids, pos, lab, n = collate_rows(exs, [[2, 0], [1]], [0, 1], pad_id=0)
    assert ids.tolist() == [[1, 2, 3, 4, 5, 6, 7], [8, 9, 0, 0, 0, 0, 0]]
    assert pos.tolist() == [[0, 1, 2, 3, 0, 1, 2], [0, 1, 0, 1, 2, 3, 4]]
    assert lab.tolist() == [[IGNORE, IGNORE, 3, 4, IGNORE, 6, 7], [IGNORE, 9] + [IGNORE] * 5]
    assert n == 9


def test_packed_loss_equals_separate_loss(tok):
    """Block-diagonal attention from position_ids: packing two samples changes nothing in their loss."""
    model = load_model(bundled_model_ensure())
    lm = LossModule(model).eval()
    a = Example("a", *encode_conversation(tok, [{"role": "user", "content": "Name a fruit."}, {"role": "assistant", "content": "Apple."}], 64))
    b = Example("b", *encode_conversation(tok, [{"role": "user", "content": "Two plus two?"}, {"role": "assistant", "content": "Four."}], 64))
    with torch.no_grad():
        packed = lm(*collate_rows([a, b], [[0, 1]], [0], tok.pad_token_id)[:3])
        sep = [lm(*collate_rows([e], [[0]], [0], tok.pad_token_id)[:3]) for e in (a, b)]
    assert int(packed[1]) == sum(int(s[1]) for s in sep)
    assert float(packed[0]) == pytest.approx(sum(float(s[0]) for s in sep), rel=1e-4)


def test_config_defaults_validation_and_overrides():
    cfg = config_validate({})
    assert (cfg.lora.r, cfg.lora.alpha, cfg.lora.dropout, cfg.lora.target_modules) == (16, 32, 0.1, ["q_proj", "v_proj"])
    assert (cfg.learning_rate, cfg.scheduler, cfg.warmup_ratio, cfg.weight_decay, cfg.max_grad_norm) == (1e-4, "cosine", 0.05, 0.01, 1.0)
    assert cfg.early_stopping_patience == 3
    data = config_apply_overrides({}, ["lora.r=8", "lora.target_modules=all-linear", "max_steps=5"])
    cfg = config_validate(data)
    assert cfg.lora.r == 8 and cfg.lora.target_modules == "all-linear" and cfg.max_steps == 5
    with pytest.raises(ConfigError, match="Unknown setting.*lora.rank"):
        config_validate({"lora": {"rank": 4}})
    with pytest.raises(ConfigError, match="qlora needs"):
        config_validate({"method": "qlora", "device": "cpu"})
    with pytest.raises(ConfigError, match="learning_rate"):
        config_validate({"learning_rate": "fast"})


def test_metrics_equal_sacrebleu_and_rouge_score():
    import sacrebleu
    from rouge_score import rouge_scorer

    preds = ["the cat sat on the mat", "Payment is due on Friday.", "hello world"]
    refs = ["the cat is on the mat", "The payment is due on Friday.", "goodbye world"]
    assert bleu(preds, refs) == pytest.approx(sacrebleu.corpus_bleu(preds, [refs]).score)
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    expected = 100 * sum(scorer.score(r, p)["rougeL"].fmeasure for p, r in zip(preds, refs)) / 3
    assert rouge_l(preds, refs) == pytest.approx(expected)
    assert exact_match(["Hello, World!", "x"], ["hello world", "y"]) == 50.0
    assert token_f1(["a b c"], ["a b d"]) == pytest.approx(100 * 2 / 3)
    # Chinese: characters are tokens (rouge-score's default tokenizer would drop them all)
    assert bleu(["价格是十二元"], ["价格是十二元"]) == pytest.approx(100.0)
    assert token_f1(["价格十二"], ["价格是十二元"]) == pytest.approx(100 * 2 * (4 / 4) * (4 / 6) / (1 + 4 / 6))

"""The Chinese person-name model (curation/pii/zh_names.py): shipped weights, batching, training."""
import numpy as np
import pytest

from curation.pii import zh_names
from curation.pii.names import chinese_names


@pytest.fixture(scope="module")
def model():
    return zh_names.get_model()


@pytest.mark.parametrize("text,name", [
    ("张伟您好，您的订单已发货。", "张伟"),
    ("本次会议由李利主持。", "李利"),
    ("记者王娜梅报道：今天上午召开了发布会。", "王娜梅"),
    ("欧阳明远同志出席了会议。", "欧阳明远"),
    ("名单：刘建国、陈晓红、赵磊。", "陈晓红"),
    ("患者唐建华，女，45岁。", "唐建华"),
])
def test_finds_names(text, name):
    found = [text[s:e] for s, e in chinese_names(text, [])]
    assert name in found


@pytest.mark.parametrize("text", [
    "高血压患者应定期监测血压，避免高盐饮食。",
    "本周期内黄金价格波动较大，和平路支行周一恢复营业。",
    "石油和天然气价格继续上涨，万一出现过敏反应请立即停药。",
    "国家医保局公布了新版药品目录，金额较大的交易需要二次验证。",
])
def test_leaves_ordinary_words_alone(text):
    assert chinese_names(text, []) == []


def test_offsets_are_code_points_and_batches_equal_single_calls(model):
    texts = ["😀𠀀 张伟您好", "", "no Chinese here", "联系人：王芳，电话见附件。", "李明说𠀀", "张伟"]
    batch = model.spans_batch(texts, threshold=0.1)
    assert batch == [model.spans(t, threshold=0.1) for t in texts]
    assert batch[1] == [] and batch[2] == []
    s, e, _ = next(sp for sp in batch[0])
    assert texts[0][s:e] == "张伟"  # the astral characters before it count one each
    assert [texts[4][s:e] for s, e, _ in batch[4]] == ["李明"]
    for spans in batch:  # best-first selection never overlaps
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_covered_spans_are_respected():
    text = "张伟您好"
    assert chinese_names(text, [(0, 2)]) == []


def test_people_daily_gold_and_a_small_training_run():
    rows = zh_names.people_daily()
    assert len(rows) > 19000
    text, names, all_nr = rows[1]
    assert [text[s:e] for s, e in names] == ["江泽民"]  # 江/nr 泽民/nr
    words = zh_names.load_dictionary()
    people = sorted({t[s:e] for t, spans, _ in rows[:3000] for s, e in spans})
    train = rows[:3000] + zh_names.synthetic_rows(people, 1000, 1)
    model = zh_names.train(train, words)
    assert np.count_nonzero(model.weights) > 1000
    held_out = zh_names.evaluate(lambda texts: model.spans_batch(texts, 0.25), rows[-2000:])
    assert held_out["names"] > 1000
    assert held_out["precision"] > 0.85 and held_out["recall"] > 0.8, held_out
    # the shipped model (trained on every line) is at least as good on the same lines
    shipped = zh_names.evaluate(lambda texts: zh_names.get_model().spans_batch(texts, 0.25), rows[-2000:])
    assert shipped["f1"] >= held_out["f1"]


def test_model_file_round_trip(tmp_path, model):
    path = tmp_path / "m.npz"
    zh_names.write_model(path, model)
    again = zh_names.read_model(path)
    texts = ["记者王娜梅报道", "张伟您好，李利主持会议"]
    assert [[(s, e) for s, e, _ in x] for x in again.spans_batch(texts)] == \
        [[(s, e) for s, e, _ in x] for x in model.spans_batch(texts)]

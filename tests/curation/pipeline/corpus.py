"""A small realistic zh/en corpus with exact and near duplicates, for engine/executor tests."""
from __future__ import annotations

import random

EN = [
    "The patient was admitted with chest pain and shortness of breath. An ECG showed sinus rhythm and the "
    "troponin level was within the normal range. She was discharged after two days with a follow-up appointment.",
    "Quarterly revenue grew by eight percent, driven by strong demand for cloud services in Europe and Asia. "
    "Operating margin improved slightly while capital expenditure remained flat compared with last year.",
    "Thank you for contacting customer support. Your order has been shipped and should arrive within five "
    "business days. You can track the parcel with the link in the confirmation email we sent you.",
    "The committee reviewed the proposal in detail and asked the authors to clarify the sampling method, the "
    "handling of missing values and the choice of the primary outcome before the next meeting.",
]
ZH = [
    "患者因胸痛和呼吸困难入院，心电图显示窦性心律，肌钙蛋白水平正常。住院两天后出院，并安排了复诊时间。",
    "本季度营业收入同比增长百分之八，主要得益于欧洲和亚洲市场对云服务的强劲需求，营业利润率略有提升。",
    "感谢您联系客服中心。您的订单已经发货，预计五个工作日内送达，您可以通过确认邮件中的链接查询物流信息。",
    "委员会详细审阅了该提案，要求作者在下次会议前说明抽样方法、缺失值的处理方式以及主要结局指标的选择。",
]


def corpus(n: int = 120, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = []
    base = EN + ZH
    for i in range(n):
        text = base[i % len(base)]
        kind = rng.random()
        if kind < 0.3:
            text = f"{text} Case {i}." if text.isascii() else f"{text}编号{i}。"  # near duplicate
        elif kind < 0.5:
            text = f"Note {i}: " + " ".join(rng.sample(text.split(), k=len(text.split()))) if text.isascii() \
                else "".join(rng.sample(text, k=len(text)))  # shuffled: distinct
        elif kind < 0.55:
            text = "short"
        out.append({"id": f"r{i}", "text": text})
    return out

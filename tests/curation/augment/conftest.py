"""Fixtures for augmentation tests: a collection with samples in train / unassigned / held-out splits."""
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

"""Augmentation: new samples from existing ones (parent + method recorded), never from held-out splits.

* ``base``        — the Augmenter interface (Item in, Variants out) and the registry of methods
* ``protect``     — protected spans (PII placeholders, numbers, glossary terms) that must never change
* ``quality``     — the similarity band gate (not a copy, not a drift)
* ``translate``   — translation backends (local seq2seq, bundled LM few-shot, OpenAI-compatible HTTP)
                    and the persistent translation cache
* ``methods``     — backtranslate, synonym, entity_swap, perturb, dialogue
* ``services``    — apply augmenters to a collection's samples (the ``augment`` job / CLI)
"""

"""PII detection and scrubbing for Chinese and English text (used by the ``pii`` pipeline step).

* ``checksums`` — GB 11643 resident IDs, Luhn + issuer prefixes, GB 32100 credit codes, SSN rules
  (the checksum policy is documented there).
* ``patterns`` — the structured detectors, OR-ed into one compiled regex with cheap validators.
* ``names`` — person names: spaCy NER on candidate windows (English); cue rules + the candidate
  model of ``zh_names`` (Chinese); a name found once is replaced everywhere in the record.
* ``zh_names`` — the Chinese name model: surname-anchored candidates scored by a hashed-feature
  logistic regression trained on People's Daily 1998-01 (vectorised with numpy, no segmenter).
* ``scrubber`` — ``PIIScrubber`` / ``ScrubResult`` / ``PLACEHOLDER_RE`` (usable without Django).
"""
from .scrubber import MODES, PII_TYPES, PLACEHOLDER_RE, Entity, PIIScrubber, ScrubResult, mask_value

__all__ = ["MODES", "PII_TYPES", "PLACEHOLDER_RE", "Entity", "PIIScrubber", "ScrubResult", "mask_value"]

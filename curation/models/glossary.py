"""Curation models: glossary (per-collection term standardisation, used by the glossary step)."""
from __future__ import annotations

from django.db import models

from refinery.models import AuditedModel

__all__: list[str] = ["GlossaryTerm"]


class GlossaryTerm(AuditedModel):
    """A canonical term with the variant spellings the glossary step rewrites to it.

    ``variants`` are replaced by ``canonical`` (高血壓 / HBP → 高血压). ``synonyms`` are different words
    with the same meaning: the glossary step leaves them alone by default; the synonym augmenter
    swaps them.
    """

    collection = models.ForeignKey("curation.Collection", on_delete=models.CASCADE, related_name="glossary_terms")
    canonical = models.CharField(max_length=200)
    variants = models.JSONField(default=list, blank=True)
    synonyms = models.JSONField(default=list, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["collection", "canonical"]
        constraints = [models.UniqueConstraint(fields=["collection", "canonical"], name="uniq_glossary_term")]

    def __str__(self) -> str:
        return self.canonical

    def as_dict(self) -> dict:
        return {"canonical": self.canonical, "variants": list(self.variants), "synonyms": list(self.synonyms)}

"""Curation models: instructions — record templates (structured records → instruction/response pairs)
and curator entity lists (entity replacement augmentation)."""
from __future__ import annotations

from django.db import models

from refinery.models import AuditedModel

from .core import Collection

__all__ = ["InstructionTemplate", "EntityList"]


class InstructionTemplate(AuditedModel):
    """Turns a structured record (JSON fields) into a sample: ``{field}`` placeholders in each part.

    E.g. instruction ``用户年龄:{age},症状:{symptoms}`` and response ``{diagnosis}``. With chain-of-thought
    on, the response is built from the CoT fields (analysis → candidates → exclusion → conclusion) and the
    reasoning is stored in ``sample.meta["cot"]``.
    """

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="instruction_templates")
    name = models.SlugField(max_length=100)
    system = models.TextField(blank=True, help_text="Optional system prompt (may use {fields}).")
    instruction = models.TextField(help_text="User turn, e.g. 用户年龄:{age},症状:{symptoms}")
    response = models.TextField(blank=True, help_text="Assistant turn, e.g. {diagnosis}. Empty when CoT builds it.")
    intent_field = models.CharField(max_length=100, blank=True, help_text="Record field copied to sample.intent.")
    cot = models.JSONField(default=dict, blank=True, help_text='Chain-of-thought field mapping: {"analysis": field, '
                           '"candidates": field, "exclusion": field, "conclusion": field}.')

    class Meta:
        ordering = ["collection", "name"]
        constraints = [models.UniqueConstraint(fields=["collection", "name"], name="uniq_template_per_collection")]

    def __str__(self) -> str:
        return self.name


class EntityList(AuditedModel):
    """Curator-maintained values of one entity type (product names, amounts, card types …) for swaps."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="entity_lists")
    entity_type = models.CharField(max_length=100)
    values = models.JSONField(default=list, help_text="List of replacement values.")

    class Meta:
        ordering = ["collection", "entity_type"]
        constraints = [models.UniqueConstraint(fields=["collection", "entity_type"], name="uniq_entity_list")]

    def __str__(self) -> str:
        return f"{self.entity_type} ({len(self.values)})"

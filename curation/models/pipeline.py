"""Curation models: pipeline."""
__all__: list[str] = []

"""Curation models: instructions."""
__all__: list[str] = []

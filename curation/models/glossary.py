"""Curation models: glossary."""
__all__: list[str] = []

"""Training models: base models, runs, adapters, evaluations."""
__all__: list[str] = []

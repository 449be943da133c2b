"""Offline assets of the training app: the bundled base model as a normal transformers folder."""
from .basemodels import bundled_model_ensure


def setup(stdout) -> None:
    path = bundled_model_ensure(stdout=stdout)
    stdout.write(f"  base model ready: {path}")

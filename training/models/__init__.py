"""Training models: dataset versions (datasets.py) and training runs / adapters (runs.py)."""
from .datasets import SPLITS, DatasetVersion, EvaluationSet  # noqa: F401
from .runs import *  # noqa: F401,F403

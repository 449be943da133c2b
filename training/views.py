"""Training app views, split by area: datasets (views_datasets) and runs/adapters (views_runs)."""
from .views_datasets import *  # noqa: F401,F403
from .views_runs import *  # noqa: F401,F403

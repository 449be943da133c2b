"""Job handlers of the training app (autodiscovered), one section per area."""
# ---- datasets
from .jobs_datasets import dataset_create_job  # noqa: F401  (registers "training.dataset_create")

# ---- training runs
from .jobs_runs import (adapter_merge_job, adapters_compare_job, layer_importance_job,  # noqa: F401,E402
                       training_run_job)

"""Training app selectors (reads), one section per area."""
from __future__ import annotations

# ============================================================================ datasets
from .selectors_datasets import (  # noqa: F401
    dataset_version_get,
    dataset_version_list,
    dataset_version_records,
    evaluation_set_list,
)

# ============================================================================ training runs
from .selectors_runs import (  # noqa: F401,E402
    adapter_get,
    adapter_list,
    base_model_list,
    base_model_path,
    layer_report_list,
    run_get,
    run_list,
)

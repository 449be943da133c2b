"""Training app services (writes), one module per area: datasets.py (dataset versions), runs.py (training)."""

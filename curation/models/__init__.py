"""Curation models, one module per area (each owned by one part of the app)."""
from .core import Collection, Document, Sample, SourceFile  # noqa: F401
from .glossary import *  # noqa: F401,F403  glossary terms, synonyms (glossary step, synonym augmentation)
from .pipeline import *  # noqa: F401,F403  pipeline configs, runs, outputs, rejections
from .instructions import *  # noqa: F401,F403  templates, builders, augmentation runs
from .quality import *  # noqa: F401,F403  quality examples and classifiers (quality step)

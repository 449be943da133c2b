"""The trainable quality classifier used by the ``quality`` step (no database: pure scikit-learn).

Curators mark documents accepted / rejected; ``train_classifier`` fits TF-IDF character 1–4-gram
features (work for Chinese and English alike, no tokeniser needed) + logistic regression with
balanced class weights, and reports stratified k-fold cross-validated accuracy. Label 1 = accepted,
0 = rejected, so ``predict_proba(texts)[:, 0]`` is P(rejected), which the step compares with its
threshold. Models are saved with joblib to a temporary name and renamed (never half-written).
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

MIN_PER_CLASS = 3
MAX_TRAIN_CHARS = 5000  # characters of each document used for features


class ClassifierTrainingError(ValueError):
    """Not enough or unbalanced examples; the message says what is missing."""


@dataclasses.dataclass(frozen=True)
class TrainingResult:
    model: object
    cv_scores: list[float]
    n_accepted: int
    n_rejected: int

    @property
    def cv_accuracy(self) -> float:
        return sum(self.cv_scores) / len(self.cv_scores)


def make_pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([
        ("features", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=1, max_features=200_000,
                                     sublinear_tf=True, lowercase=True)),
        ("model", LogisticRegression(class_weight="balanced", max_iter=2000, C=4.0)),
    ])


def train_classifier(texts: Sequence[str], labels: Sequence[int], *, folds: int = 5, seed: int = 0) -> TrainingResult:
    """Fit on all examples; cross-validated accuracy from ``folds`` stratified folds (fewer when a class is small)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    if len(texts) != len(labels):
        raise ClassifierTrainingError("texts and labels differ in length")
    n_acc = sum(1 for y in labels if y == 1)
    n_rej = sum(1 for y in labels if y == 0)
    if n_acc + n_rej != len(labels):
        raise ClassifierTrainingError("labels must be 1 (accepted) or 0 (rejected)")
    if n_acc < MIN_PER_CLASS or n_rej < MIN_PER_CLASS:
        raise ClassifierTrainingError(
            f"Need at least {MIN_PER_CLASS} accepted and {MIN_PER_CLASS} rejected examples (have {n_acc} accepted, {n_rej} rejected).")
    docs = [t[:MAX_TRAIN_CHARS] for t in texts]
    k = max(2, min(folds, n_acc, n_rej))
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    scores = cross_val_score(make_pipeline(), docs, list(labels), cv=cv, scoring="accuracy")
    model = make_pipeline().fit(docs, list(labels))
    return TrainingResult(model=model, cv_scores=[float(s) for s in scores], n_accepted=n_acc, n_rejected=n_rej)


def save_classifier(model, path: str | os.PathLike) -> Path:
    import joblib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    joblib.dump(model, tmp)
    os.replace(tmp, path)
    return path


def load_classifier(path: str | os.PathLike):
    return load_classifier_bytes(classifier_bytes(path), where=str(path))


def classifier_bytes(path: str | os.PathLike) -> bytes:
    """The saved model file's bytes (shipped to workers instead of a path they may not be able to read)."""
    from ..base import StepConfigError

    p = Path(path)
    if not p.is_file():
        raise StepConfigError(f"quality: classifier file {p} does not exist")
    return p.read_bytes()


def load_classifier_bytes(data: bytes, *, where: str = "the classifier"):
    import io

    import joblib

    from ..base import StepConfigError

    try:
        model = joblib.load(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file: say which one
        raise StepConfigError(f"quality: {where} is not a saved classifier ({exc.__class__.__name__}: {exc})") from None
    if not hasattr(model, "predict_proba"):
        raise StepConfigError(f"quality: {where} is not a classifier (no predict_proba)")
    return model

"""What the dataset exporter needs to know about a sample's labels (the annotation → training interface)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SampleLabelSummary:
    """The labelling outcome of one sample across every project that contains it.

    - ``adjudicated``: a final decision exists (majority vote, curator decision or gold).
    - ``final_label``: the adjudicated label dict (field name → value), else the majority label, else None
      (spans: those more than half of the annotators marked exactly).
    - ``decision``: "accept" / "reject" / "edit" from the final label's decision field, "" if none.
    - ``edited_messages``: the sample's messages with the edited assistant response when decision is
      "edit", else None.
    - ``quality_rating``: mean of the 1–5 rubric fields (relevance / accuracy / fluency) of the final
      label, else the mean over all annotators' rubric ratings, None without ratings.
    - ``agreement``: item-level agreement (0–1) among the annotators, None with fewer than two
      (mean over the comparable fields; a spans field counts with its exact span F1).
    - ``project_ids``: the labelling projects the sample is in.
    - ``in_review``: the item behind this summary is in a project below its agreement gate and no
      curator decided it (``review_reason`` says so). Such an item is never ``adjudicated`` by the bulk
      majority vote, and its "accept" / "edit" outcome is withheld (``decision`` "", no
      ``edited_messages``) until a curator decides it or accepts the project; "reject" stays.
    """

    adjudicated: bool
    final_label: Any
    decision: str
    edited_messages: list | None
    quality_rating: float | None
    agreement: float | None
    project_ids: list[int] = field(default_factory=list)
    in_review: bool = False
    review_reason: str = ""

"""Annotation data: labelling projects, assignments, annotations, agreement, adjudication."""

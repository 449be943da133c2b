"""The one error type a reader or source raises for input the user can fix; its message is shown as is."""


class IngestError(Exception):
    """A file (or archive member) cannot be ingested; ``str(exc)`` says what is wrong and where."""

"""The stop flag: SIGTERM/SIGINT → stop at the next step boundary with a checkpoint.

Installed first thing in ``__main__`` (before torch is imported), so a cancel that arrives while the
trainer is still loading also ends in a clean, recorded stop rather than a killed process.
"""
import signal

_state = {"stop": False}


def _set(*_):
    _state["stop"] = True


def install() -> None:
    signal.signal(signal.SIGTERM, _set)
    signal.signal(signal.SIGINT, _set)


def requested() -> bool:
    return _state["stop"]

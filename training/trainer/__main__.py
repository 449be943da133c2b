"""Entry point: ``python -m training.trainer --config RUN_DIR/config.json`` (or via ``accelerate launch -m``)."""
import argparse
import sys

from . import stop

stop.install()  # before the heavy imports: an early cancel is still a clean stop

from .loop import main  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m training.trainer", description="Refinery LoRA trainer")
    parser.add_argument("--config", required=True, help="run config JSON (written by the web app or `manage.py train`)")
    args = parser.parse_args()
    sys.exit(main(args.config))

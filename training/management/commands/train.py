"""``manage.py train --dataset-version ID|latest [--base-model NAME] [--max-steps N] [--set lora.r=16 ...]
[--config run.yaml] [--json-summary FILE]`` — train a LoRA adapter with a progress bar."""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from training.basemodels import BUNDLED_NAME
from training.models import DatasetVersion
from training.services.runs import RunError, run_create, run_execute_inline, run_summary
from training.trainer.config import ConfigError, config_apply_overrides, config_from_yaml


class Command(BaseCommand):
    help = "Train an adapter on a dataset version (subprocess trainer, progress bar, evaluation before/after)."

    def add_arguments(self, parser):
        parser.add_argument("--dataset-version", required=True, help="DatasetVersion id, or 'latest' (newest ready)")
        parser.add_argument("--base-model", default=BUNDLED_NAME, help="registry name, local folder or hub id")
        parser.add_argument("--max-steps", type=int, default=None)
        parser.add_argument("--config", default=None, help="YAML file with run settings")
        parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                            help="override a setting, e.g. --set lora.r=8 --set learning_rate=2e-4")
        parser.add_argument("--json-summary", default=None, help="write eval_before/eval_after/adapter_path/tokens_per_second here")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        ref = opts["dataset_version"]
        qs = DatasetVersion.objects.filter(status=DatasetVersion.Status.READY)
        if ref == "latest":
            version = qs.order_by("-created_at", "-id").first()
            if version is None:
                raise CommandError("No ready dataset version exists; build one first (Datasets page or API).")
        else:
            try:
                version = qs.get(pk=int(ref))
            except (ValueError, DatasetVersion.DoesNotExist):
                raise CommandError(f"--dataset-version {ref!r}: no ready dataset version with that id.") from None
        try:
            config = config_from_yaml(Path(opts["config"]).read_text()) if opts["config"] else {}
            if opts["max_steps"] is not None:
                config["max_steps"] = opts["max_steps"]
            config = config_apply_overrides(config, opts["overrides"])
            run = run_create(dataset_version=version, base_model=opts["base_model"], config=config)
        except (ConfigError, RunError, OSError) as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"Run #{run.pk}: {version} on {run.base_model} → {run.folder}")
        job = run_execute_inline(run=run, progress_bar=not opts["no_progress"])
        summary = run_summary(run=run)
        if opts["json_summary"]:
            Path(opts["json_summary"]).write_text(json.dumps(summary, indent=2, ensure_ascii=False))
        if job.status != "succeeded":
            raise CommandError(f"Run #{run.pk} {job.status}: {job.error[:2000]}")
        before = (summary["eval_before"] or {}).get("loss")
        after = (summary["eval_after"] or {}).get("loss")
        self.stdout.write(self.style.SUCCESS(
            f"Run #{run.pk} done: validation loss {before if before is None else round(before, 4)} → "
            f"{after if after is None else round(after, 4)}; adapter {summary['adapter_path']}; "
            f"{summary['tokens_per_second']} tokens/s"))

"""One real object of every model of the project apps, all with the same primary key WORLD_PK.

Route-walking tests fill every ``<int:pk>``-like URL parameter with WORLD_PK, so each object route
resolves to a real object (a missing role check cannot hide behind a 404). The objects belong to
the curator; annotation work belongs to ``annotator2``, never to ``annotator1``.
"""
from __future__ import annotations

WORLD_PK = 4242


def make_world(*, curator, other_annotator) -> dict:
    from annotation.models import Adjudication, Annotation, Assignment, Item, LabelingProject, WebhookEvent
    from annotation.schemes import PRESETS
    from curation.models import (
        Collection, Document, EntityList, GlossaryTerm, InstructionTemplate, PipelineConfig, PipelineRun,
        QualityClassifier, QualityExample, RunOutput, RunRejection, Sample, SourceFile,
    )
    from refinery.audit import acting_as
    from refinery.models import Job
    from training.models import Adapter, DatasetVersion, EvaluationSet, HumanEvaluation, LayerImportance, TrainingRun

    pk = WORLD_PK
    messages = [{"role": "user", "content": "What is hypertension?"},
                {"role": "assistant", "content": "High blood pressure."}]
    w: dict = {}
    with acting_as(curator):
        w["collection"] = c = Collection.objects.create(pk=pk, name="world", title="World")
        w["source_file"] = sf = SourceFile.objects.create(pk=pk, collection=c, name="world.txt", sha256="0" * 64,
                                                          size=14, format="txt", stored_path="uploads/world.txt")
        w["document"] = doc = Document.objects.create(pk=pk, collection=c, source_file=sf, text="World document.",
                                                      content_hash="1" * 64, language="en", char_count=15)
        w["sample"] = sample = Sample.objects.create(pk=pk, collection=c, messages=messages, content_hash="2" * 64)
        w["glossary_term"] = GlossaryTerm.objects.create(pk=pk, collection=c, canonical="hypertension")
        w["pipeline_config"] = config = PipelineConfig.objects.create(pk=pk, collection=c, name="world",
                                                                      steps=[{"step": "length"}])
        w["job"] = job = Job.objects.create(pk=pk, kind="curation.ingest", title="World job", created_by=curator)
        w["pipeline_run"] = run = PipelineRun.objects.create(pk=pk, collection=c, config=config, config_name="world",
                                                             status=PipelineRun.Status.SUCCEEDED, job=job)
        w["run_output"] = RunOutput.objects.create(pk=pk, run=run, document=doc, text=doc.text)
        w["run_rejection"] = RunRejection.objects.create(pk=pk, run=run, sample=sample, record_id=f"s{pk}",
                                                         step="length", reason="too short")
        w["instruction_template"] = InstructionTemplate.objects.create(pk=pk, collection=c, name="world",
                                                                       instruction="{question}")
        w["entity_list"] = EntityList.objects.create(pk=pk, collection=c, entity_type="drug", values=["aspirin"])
        w["quality_example"] = QualityExample.objects.create(pk=pk, collection=c, document=doc, label="accepted")
        w["quality_classifier"] = QualityClassifier.objects.create(
            pk=pk, collection=c, path="/nonexistent/world.joblib", n_accepted=1, n_rejected=1, cv_scores=[0.5],
            cv_accuracy=0.5, is_active=False)
        w["project"] = project = LabelingProject.objects.create(pk=pk, name="World project", collection=c,
                                                                scheme=PRESETS["sft_review"])
        project.annotators.add(other_annotator)
        w["item"] = item = Item.objects.create(pk=pk, project=project, sample=sample)
        w["assignment"] = Assignment.objects.create(pk=pk, item=item, annotator=other_annotator)
        w["annotation"] = Annotation.objects.create(pk=pk, item=item, annotator=other_annotator, label={"verdict": "accept"})
        w["adjudication"] = Adjudication.objects.create(pk=pk, item=item, final_label={"verdict": "accept"},
                                                        method=Adjudication.Method.choices[0][0], decided_by=curator)
        w["webhook_event"] = WebhookEvent.objects.create(pk=pk, action="ANNOTATION_CREATED", payload={})
        w["dataset_version"] = version = DatasetVersion.objects.create(pk=pk, collection=c, number=1,
                                                                       status=DatasetVersion.Status.READY)
        w["evaluation_set"] = EvaluationSet.objects.create(pk=pk, name="world", sha256="3" * 64, path="evalsets/world.jsonl")
        w["training_run"] = trun = TrainingRun.objects.create(pk=pk, dataset_version=version, base_model="smollm2-135m",
                                                              status=TrainingRun.Status.SUCCEEDED)
        w["adapter"] = adapter = Adapter.objects.create(pk=pk, run=trun, collection=c, number=1, path="adapters/world",
                                                        base_model="smollm2-135m")
        w["human_evaluation"] = HumanEvaluation.objects.create(pk=pk, adapter=adapter, prompt="p", response="r",
                                                               relevance=3, accuracy=3, fluency=3)
        w["layer_importance"] = LayerImportance.objects.create(pk=pk, dataset_version=version, base_model="smollm2-135m")
    return w

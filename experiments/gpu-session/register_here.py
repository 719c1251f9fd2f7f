"""Register classifiers trained on the GPU machine (brought back as folders) in a store here, so that
``models:/NAME@ALIAS`` works on this machine: one MLflow run per model in experiment ``gpu-imports``,
tagged with the store and run it was trained in.

    MLFLOW_TRACKING_URI=sqlite:///... python experiments/gpu-session/register_here.py \
        FOLDER NAME GPU_RUN_ID [FOLDER NAME GPU_RUN_ID ...]
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(args: list[str]) -> None:
    import mlflow

    from pipeline.models.classifier import load_classifier
    from pipeline.models.mlflow_model import log_classifier, register

    if not args or len(args) % 3:
        raise SystemExit(__doc__)
    mlflow.set_experiment("gpu-imports")
    for folder, name, gpu_run in zip(args[0::3], args[1::3], args[2::3], strict=True):
        classifier = load_classifier(Path(folder))
        with mlflow.start_run(run_name=f"import-{name}") as run:
            mlflow.set_tags({"trained_on": "NVIDIA H200 (experiments/gpu-session)", "gpu_run_id": gpu_run,
                             "weights": "carried back in bf16, restored to fp32"})
            info = log_classifier(classifier)
            version = register(info.model_uri, name, "champion", tags={"gpu_run_id": gpu_run},
                               run_id=run.info.run_id, task=classifier.task)
        print(f"models:/{name}@champion -> version {version} (GPU run {gpu_run})")


if __name__ == "__main__":
    main(sys.argv[1:])

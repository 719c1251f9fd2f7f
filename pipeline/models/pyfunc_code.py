"""The pyfunc model as code: MLflow runs this file when it loads a classifier logged by ``pipeline train``.

Logged with ``python_model=<this file>`` (MLflow's "models from code"), so nothing is pickled; the
classifier itself is the ``classifier`` artifact, loaded by ``ClassifierModel.load_context``.
"""

import mlflow

from pipeline.models.mlflow_model import ClassifierModel

mlflow.models.set_model(ClassifierModel())

"""Training, evaluation and registration of tone and stance classifiers.

Entry points: :func:`pipeline.training.api.train_from_config` and
:func:`pipeline.training.api.evaluate_model`. Nothing heavy is imported here.
"""

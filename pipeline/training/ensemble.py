"""``model.kind: ensemble``: combine trained classifiers (``model.members``) into one model.

The members are pinned like ``model.init`` (configs trained or reused first, aliases resolved to
versions) before the ensemble's config is hashed. A registered member must carry this config's data
hash: a member that saw other data may have trained on the rows the ensemble is scored on.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError
from pipeline.training.model_refs import inherited_settings, pin_model_ref, registered_data_hash

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.models.ensemble import EnsembleClassifier
    from pipeline.training.config import TrainConfig


def pin_members(config: TrainConfig) -> None:
    """Pin every ``model.members`` entry to ``models:/NAME/VERSION`` where it is a config or an alias."""
    inherited = inherited_settings(config)
    config.model.members = [pin_model_ref(ref, "model.members", inherited) for ref in config.model.members]


def build_ensemble(config: TrainConfig, data_hash: str) -> EnsembleClassifier:
    """Load the pinned members, check their task, labels and training data; the untempered ensemble."""
    from pipeline.models.ensemble import EnsembleClassifier
    from pipeline.models.mlflow_model import load_classifier_from_uri

    members = []
    for ref in config.model.members:
        member_hash = registered_data_hash(ref)
        if member_hash is None:
            print(
                f"warning: model.members: {ref} carries no data hash; make sure it never saw this "
                "config's dev rows",
                file=sys.stderr,
            )
        elif member_hash != data_hash:
            raise ConfigError(
                f"model.members: {ref} was trained on other data (data hash {member_hash}, this config's "
                f"{data_hash}); train the members on this config's data so that dev stays held out"
            )
        member = load_classifier_from_uri(ref)
        if member.task != config.task or member.labels != config.label_list:
            raise ConfigError(
                f"model.members: {ref} is a {member.task} model with labels {member.labels}; this config "
                f"builds {config.task} with labels {config.label_list}"
            )
        members.append(member)
    return EnsembleClassifier(members, config.model.weights)

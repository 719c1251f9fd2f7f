"""One family of errors; the CLI turns each into a one-line message and exit code 2."""


class PipelineError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 2


class ConfigError(PipelineError, ValueError):
    """A config file or override is wrong: unknown key, wrong type, missing file."""


class InputError(PipelineError, ValueError):
    """An input article, corpus or data file cannot be used."""


class DataError(InputError):
    """A labelled data set is unusable: missing column, unknown label, empty or one-class split."""


class ModelError(PipelineError, RuntimeError):
    """A model cannot be found or loaded."""


class TrackingError(PipelineError, RuntimeError):
    """The MLflow tracking store cannot be reached or used."""


class EngineError(PipelineError, RuntimeError):
    """An engine cannot run: pyspark or Java missing, a Spark session that does not start."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of a third-party error's message (its type name when it has none), cut to ``limit``."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:limit]

"""The project's error hierarchy: every failure a user can see is one of these, with a message naming the
bad value (a file, a key) and what was expected."""


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""


class ConfigError(PipelineError):
    """config.yaml (or a value given on the command line) is invalid."""


class ExtractionError(PipelineError):
    """A document cannot be turned into text: corrupt, encrypted, empty, unsupported, too large."""


class CollectError(PipelineError):
    """A source cannot be fetched or read."""


class StoreError(PipelineError):
    """The corpus store cannot be opened or written (locked by another run, corrupt)."""


class TopicError(PipelineError):
    """A topic model cannot be fitted or applied (too few documents, unknown fit)."""


class ExportError(PipelineError):
    """The tables cannot be exported: a value does not fit its column's type, a file cannot be written."""

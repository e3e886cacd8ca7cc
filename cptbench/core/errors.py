"""Error types. Library code raises these; only the CLI turns them into exit codes."""


class CptbenchError(Exception):
    """Base class for every error cptbench reports to a user as one line."""

    exit_code = 2


class ConfigError(CptbenchError):
    """A suite, task, recipe or option is malformed (names the file and field)."""


class DataError(CptbenchError):
    """A data source is missing, empty or unreadable."""


class ModelError(CptbenchError):
    """A model reference cannot be resolved or loaded."""


class NumericsError(CptbenchError):
    """A NaN or inf appeared in a loss or an evaluation value."""

    exit_code = 1


class RecordError(CptbenchError):
    """A run record is malformed or inconsistent."""



class TrainingError(CptbenchError):
    """A stage's training processes failed (names their log)."""

    exit_code = 1

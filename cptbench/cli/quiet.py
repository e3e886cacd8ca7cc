"""Keep library chatter (weight-loading bars, warnings, lm-eval's log lines) out of cptbench's own
progress display: it goes to the run's log file (``logs/run.log``) instead of the terminal."""

from __future__ import annotations

import logging
import logging.handlers
import os
import warnings
from pathlib import Path

LIBRARY_LOGGERS = ("transformers", "datasets", "lm_eval", "trl", "accelerate", "peft", "sentence_transformers", "py.warnings")


class _RunLogHandler(logging.handlers.WatchedFileHandler):
    """Appends to the run log; reopens it (and its folder) when ``--force`` emptied the run directory."""

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()

    def reopenIfNeeded(self):  # noqa: N802 - logging's name
        if self.stream is not None and not os.path.exists(self.baseFilename):
            self.stream.close()
            self.stream = None  # reopened by emit
        super().reopenIfNeeded()


def quiet_libraries(log_file: Path | None = None) -> None:
    """Silence progress bars; with ``log_file``, route library warnings and log lines there."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")  # lm-eval's own bars; read when tqdm is first imported
    import datasets
    import transformers

    transformers.utils.logging.disable_progress_bar()
    datasets.utils.logging.disable_progress_bar()
    if log_file is None:
        transformers.utils.logging.set_verbosity_error()
        datasets.utils.logging.set_verbosity_error()
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        return
    # the libraries print through handlers of their own: hand their records to ours instead
    transformers.utils.logging.disable_default_handler()
    transformers.utils.logging.enable_propagation()
    datasets.utils.logging.enable_propagation()
    handler = _RunLogHandler(log_file, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    for earlier in [h for h in root.handlers if isinstance(h, _RunLogHandler)]:
        root.removeHandler(earlier)  # an earlier command in this process (tests): its run, its log
        earlier.close()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).propagate = True
    logging.captureWarnings(True)  # warnings.warn(...) -> the "py.warnings" logger -> the log file

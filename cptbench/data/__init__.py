"""Data sources behind one interface (``base.DataSource``, registry in ``sources``): CrossNER,
PubMedQA; the mirror / cache / pinned-download rules (``cache``); cloze items (``probes``)."""

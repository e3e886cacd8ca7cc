"""Data sources: CrossNER (``crossner``) and the download cache (``cache``)."""

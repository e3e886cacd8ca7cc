"""``python -m cptbench`` is the ``cptbench`` command."""

from cptbench.cli.main import app

app(prog_name="cptbench")

"""`import cptbench` and `cptbench --help` stay cheap: no torch, transformers, trl or vllm."""

import subprocess
import sys

HEAVY = ("torch", "transformers", "trl", "vllm", "datasets", "sentence_transformers", "peft")


def imported_modules(code: str) -> set[str]:
    script = f"{code}\nimport sys; print(' '.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_import_cptbench_is_light():
    loaded = imported_modules("import cptbench, cptbench.core.metrics, cptbench.config.suites, cptbench.publish.report")
    assert not loaded & set(HEAVY)


def test_cli_help_is_light():
    code = (
        "import sys\nfrom cptbench.cli.main import app\n"
        "sys.argv = ['cptbench', '--help']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    loaded = imported_modules(code)
    assert not loaded & set(HEAVY)

"""`cptbench --help` groups commands into panels, and every command's help ends with examples."""

import typer
from typer.testing import CliRunner

from cptbench.cli.main import EXAMPLES, app

PANELS = ("Running", "Results", "Leaderboards and CI", "Data and models", "Scale")


def command_paths() -> list[tuple[str, ...]]:
    """Every command and sub-command of the app, as argument paths (("models", "pull"), ...)."""
    root = typer.main.get_command(app)
    paths = []
    for name, command in root.commands.items():
        paths.append((name,))
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            paths += [(name, sub) for sub in command.commands]
    return paths


def test_top_level_help_has_the_panels():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    for panel in PANELS:
        assert f"─ {panel} " in result.output
    assert "─ Commands " not in result.output  # every command sits in a named panel


def test_every_command_help_ends_with_examples():
    for path in command_paths():
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, path
        tail = result.output.rsplit("Examples:", 1)
        assert len(tail) == 2, f"cptbench {' '.join(path)} --help has no examples"
        assert f"cptbench {' '.join(path)}" in tail[1], path


def test_examples_name_real_commands():
    paths = set(command_paths())
    for name, lines in EXAMPLES.items():
        assert tuple(name.split()) in paths, name
        for line in lines.split("\n"):
            words = line.split()
            assert words[0] == "cptbench" and (words[1],) in paths, line
            if words[1] in {"models", "baseline"}:  # groups without a command of their own
                assert (words[1], words[2]) in paths, line

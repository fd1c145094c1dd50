"""The README's two commands are the contract with a newcomer: CI runs the same test command."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command_verbatim():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    command = next(line for line in ci_lines if "pytest" in line and not line.startswith("#"))
    assert command in (ROOT / "README.md").read_text()


def test_readme_names_every_setting():
    readme = (ROOT / "README.md").read_text()
    from bot.settings import Settings

    for field in Settings.model_fields.values():
        assert f"`{field.alias}`" in readme

"""Every command and every option has help text (gto's meta-test)."""
from __future__ import annotations

import click
import pytest

from releasegate.cli import COMMANDS, LazyGroup, cli, main


def _commands() -> list[str]:
    return sorted(COMMANDS)


def _walk(name: str, command: click.Command) -> list[tuple[str, click.Command]]:
    """The command and, for a group (``rollout``), every subcommand under it."""
    found = [(name, command)]
    if isinstance(command, click.Group):
        for sub in sorted(command.commands):
            found += _walk(f"{name} {sub}", command.commands[sub])
    return found


@pytest.mark.parametrize("name", _commands())
def test_command_and_options_have_help(name: str) -> None:
    command = LazyGroup.get_command(cli, click.Context(cli), name)
    assert command is not None
    _check_help(command, name)


def _check_help(command: click.Command, name: str) -> None:
    """The command, each of its options and, for a group (evidence, action), each subcommand."""
    assert command.help and len(command.help.strip()) > 20, f"{name} has no help"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} has no help"
    if isinstance(command, click.Group):
        for sub in command.list_commands(click.Context(command)):
            subcommand = command.get_command(click.Context(command), sub)
            assert subcommand is not None
            _check_help(subcommand, f"{name} {sub}")


def test_rollout_has_its_three_commands() -> None:
    group = LazyGroup.get_command(cli, click.Context(cli), "rollout")
    assert isinstance(group, click.Group) and sorted(group.commands) == ["abort", "advance", "complete"]


def test_global_options_have_help() -> None:
    options = [p for p in cli.params if isinstance(p, click.Option)]
    assert {"--traceback", "--log-level"} <= {o for p in options for o in p.opts}
    for param in options:
        assert param.help, f"releasegate {param.opts} has no help"


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in _commands():
        assert name in out
    assert "Exit codes" in out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["valdate"]) == 2
    assert "No such command 'valdate'" in capsys.readouterr().err


def test_unexpected_errors_are_one_line(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr("releasegate.cli.validate.run_validation", boom)
    monkeypatch.setattr("releasegate.cli.validate.find_root", lambda root: None)
    assert main(["validate"]) == 3
    err = capsys.readouterr().err
    assert err.strip() == "Unexpected error: RuntimeError: kaboom; re-run with --traceback"

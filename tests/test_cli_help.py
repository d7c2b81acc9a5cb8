"""Every subcommand's --help says what it does, shows an example and its exit codes, and gives
each option's default."""

import argparse
import re
import shlex

import pytest

from reasoner import cli
from reasoner.core.errors import COMMAND_EXITS, exit_codes


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def help_text(command: str, capsys, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as stop:
        cli.main([command, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def option_help(text: str, option: str) -> str:
    """The help of one option: its line and the indented lines after it, up to the next option."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith("  -") and option in re.split(r"[ ,]+", line.strip().split("  ")[0]))
    block = [lines[start]]
    for line in lines[start + 1:]:
        if re.match(r"\s{2,4}-", line) or not line.startswith(" "):
            break
        block.append(line)
    return " ".join(block)


def test_every_subcommand_has_its_exit_codes():
    assert set(subcommands()) == set(COMMAND_EXITS)


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_help_has_a_description_an_example_and_the_exit_codes(command, capsys, monkeypatch):
    text = help_text(command, capsys, monkeypatch)
    parser = subcommands()[command]
    assert parser.description and len(parser.description) > 60
    assert "Example:" in text and "Exit codes:" in text
    assert exit_codes(command) in text  # the lines of core/errors.py, not a copy
    examples = text.split("Example:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert examples
    for line in examples:  # each example is a command line the parser accepts
        words = shlex.split(line.split("    (")[0])
        assert words[:2] == ["chemoden", command]
        cli._parser().parse_args(words[1:])


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_options_show_their_defaults(command, capsys, monkeypatch):
    text = help_text(command, capsys, monkeypatch)
    for action in subcommands()[command]._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue
        if action.default is None or action.default is False or action.default == []:
            if action.help and "default" not in action.help:
                continue  # nothing to show: an option that is off or unset unless given
        assert "default" in option_help(text, action.option_strings[-1]), (command, action.option_strings)

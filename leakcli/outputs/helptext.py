"""The help as a person reads it: `--json` (a flag takes no value) and `--data-dir DIR`, never
`<bool>` or `<str>`; each command's text one paragraph, and its first sentence in the list of
commands. Works on the parsed command objects the command line hands over (no Typer import here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leakcli.errors import UsageError

# the words of dbt and Terraform a user types first, and what leakcli calls the same thing
FAMILIAR = {"build": ("dbt", "apply"), "run": ("dbt", "apply"),
            "seed": ("dbt", "generate"), "docs": ("dbt", "report"), "compile": ("dbt", "plan"), "ls": ("dbt", "plan"),
            "list": ("dbt", "plan"), "debug": ("dbt", "plan"), "validate": ("Terraform", "plan"),
            "init": ("Terraform", "plan")}


def familiar(word: str) -> str:
    """What a command word of dbt or Terraform is called here ("dbt's `build` is `leakcli apply` here"), or ""."""
    if word not in FAMILIAR:
        return ""
    tool, ours = FAMILIAR[word]
    return f"{tool}'s `{word}` is `leakcli {ours}` here"


def tidy_help(group: Any) -> None:
    """Help shows `--json` (a flag takes no value) and `--data-dir DATA_DIR`, not `<bool>`, `<str>`;
    each command's text as one paragraph, and its first sentence in the list of commands."""
    for command in [group, *group.commands.values()]:
        if command is not group and getattr(command, "commands", None):
            tidy_help(command)
            continue
        for param in command.params:
            if getattr(param, "is_flag", False):
                param.metavar = ""
            elif param.metavar is None:
                param.metavar = (param.name or "value").upper()
        command.get_help_option = _flag_help(command.get_help_option)
        if command.help:
            command.help = " ".join(command.help.split())
            command.short_help = command.help.split(". ")[0].rstrip(".") + "."


def _flag_help(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def get_help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None:
            option.metavar = ""
        return option
    return get_help_option


def usage_error(exc: Any) -> UsageError:
    """A parser's error (Click's, as Typer carries it) as one line naming the command: `leakcli plan:
    ...`, never "leakcli: error: leakcli: ..."."""
    from leakcli.errors import UsageError

    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "leakcli"
    what = exc.format_message().replace("Value error, ", "").rstrip(". ")
    return UsageError(what if where == "leakcli" else f"{where}: {what}", hint=f"see `{where} --help`")

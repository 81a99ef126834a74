"""The errors a user can cause, each carrying the one-line message the CLI prints.

Everything a user can get wrong (a path, a flag value, a file) raises a subclass of
:class:`StylecycleError` whose message names the culprit and says what to do. The CLI
prints that message alone and exits with status 2; anything else is a bug and keeps its
traceback.
"""


class StylecycleError(Exception):
    """Base class of the errors meant for the user's eyes."""


class ConfigError(StylecycleError):
    """A flag or configuration value is invalid."""


class DataError(StylecycleError):
    """An image folder is missing, empty or unusable."""


class ImageReadError(DataError):
    """One image file cannot be decoded; ``reason`` says why, without the path."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"cannot read image {path}: {reason}")
        self.path, self.reason = path, reason


class CheckpointError(StylecycleError):
    """A checkpoint is missing, unreadable or does not match what was asked."""


class TrainingInterrupted(Exception):
    """Training stopped on SIGINT/SIGTERM after saving ``checkpoint`` (not an error: exit 130);
    ``hint`` says how to continue."""

    def __init__(self, checkpoint: object, hint: str = "continue with --resume") -> None:
        super().__init__(f"stopped; checkpoint {checkpoint}")
        self.checkpoint, self.hint = checkpoint, hint


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none), for one-line errors."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def user_message(exc: StylecycleError) -> str:
    """The one line the CLI prints. An error re-raised from a DataLoader worker carries the
    worker's traceback in its message; its original message is that traceback's last line."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else type(exc).__name__
    return lines[-1].removeprefix(f"{type(exc).__module__}.{type(exc).__qualname__}: ")

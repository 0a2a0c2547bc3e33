"""Errors the user can fix: printed as one line by the CLI and the stages, never a traceback."""
from __future__ import annotations

from typing import Iterable


class PtbenchError(Exception):
    """Base of every error with a message meant for the user."""


class ConfigError(PtbenchError):
    """params.yaml, a task spec or a CLI argument holds a bad value."""


class DataError(PtbenchError):
    """A dataset is missing, unreadable or not in the expected schema."""


class HubUnreachableError(PtbenchError):
    """The model or dataset hub cannot be reached and no local mirror is configured."""


def require_choice(key: str, value: object, allowed: Iterable[object]) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"{key}: unknown value {value!r}; allowed: {', '.join(map(str, allowed))}")


def require(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key}: {message}")


def reject_unknown_keys(key: str, given: Iterable[str], allowed: Iterable[str]) -> None:
    """A mapping from params.yaml holds only the keys its reader knows."""
    allowed = sorted(allowed)
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ConfigError(f"{key}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")

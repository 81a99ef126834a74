"""Who may use the web page: logins from a file or the environment, never the command line
(where ``ps`` would show the password to every user of the machine).

A login is a line ``user:password``, or ``user:pbkdf2_sha256$ITERATIONS$SALT$HASH`` as
``stylecycle hash-password`` prints it, so that the file need not hold the password itself.
Gradio's own authentication asks for them (its login page, its session cookie); this module
only decides whether a user name and password match.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError

AUTH_ENV = "STYLECYCLE_AUTH"
HASHED = "pbkdf2_sha256"
ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def hash_password(password: str, *, iterations: int = ITERATIONS) -> str:
    """The stored form of ``password``: ``pbkdf2_sha256$ITERATIONS$SALT$HASH`` (hex), salted at random."""
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), iterations)
    return f"{HASHED}${iterations}${salt}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` (hashed or plain) stands for, in constant time."""
    if stored.startswith(HASHED + "$"):
        _, iterations, salt, expected = stored.split("$")
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
        return hmac.compare_digest(digest.hex(), expected)
    return hmac.compare_digest(password.encode(), stored.encode())


def parse_logins(text: str, source: str) -> dict[str, str]:
    """``{user: stored password}`` from lines ``user:password`` (blank lines and ``#`` comments
    skipped); a malformed line is refused naming its number, never its content."""
    logins: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        if not sep or not user.strip() or not stored:
            raise ConfigError(f"{source}, line {number}: expected user:password")
        if stored.startswith(HASHED + "$") and (len(stored.split("$")) != 4 or not stored.split("$")[1].isdigit()):
            raise ConfigError(f"{source}, line {number}: a hashed password is {HASHED}$ITERATIONS$SALT$HASH (stylecycle hash-password)")
        logins[user.strip()] = stored
    return logins


def read_logins(auth_file: Path | None) -> dict[str, str]:
    """The logins of ``--auth-file``, else of ``$STYLECYCLE_AUTH``; empty when neither is given."""
    if auth_file is not None:
        try:
            text = Path(auth_file).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read --auth-file {auth_file}: {exc.strerror or exc}") from exc
        logins = parse_logins(text, f"--auth-file {auth_file}")
        if not logins:
            raise ConfigError(f"--auth-file {auth_file} holds no user:password line")
        return logins
    return parse_logins(os.environ.get(AUTH_ENV, ""), f"${AUTH_ENV}")


@functools.cache
def _unknown_user() -> str:
    return hash_password(secrets.token_hex(16))


def login_check(logins: dict[str, str]) -> Callable[[str, str], bool]:
    """What Gradio calls with the user name and password typed on its login page."""

    def check(user: str, password: str) -> bool:
        stored = logins.get(user)
        if stored is None:
            password_matches(password, _unknown_user())  # costs what a wrong password costs: timing tells no names
            return False
        return password_matches(password, stored)

    return check


def check_exposure(host: str, logins: dict[str, str], insecure_no_login: bool) -> None:
    """Refuse to open the page to other machines without a login, unless told to on purpose."""
    if host not in LOOPBACK and not logins and not insecure_no_login:
        raise ConfigError(
            f"--host {host} lets other machines reach the page: give logins with --auth-file FILE (lines user:password) "
            f"or ${AUTH_ENV}, or pass --insecure-no-login"
        )

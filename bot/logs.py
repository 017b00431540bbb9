"""Logging for every `asn-peduli` command, set in one place.

Our own packages log at LOG_LEVEL; they log neither personal data nor secrets (only kinds,
counts, classes of errors). The libraries under them do when they log in detail, so each is
held at a floor whatever LOG_LEVEL asks: LOG_LEVEL=DEBUG shows our debugging, never
python-telegram-bot's request bodies or the bot token in httpx's URLs. A library not named
here logs nothing below INFO either (the root logger's floor).
"""

from __future__ import annotations

import logging
import sys

OWN_PACKAGES = ("bot", "flows", "storage", "messages")

# The lowest level each library logs at, and what it would log below it.
LIBRARY_FLOORS: dict[str, int] = {
    # DEBUG: every Bot API call with its parameters and its answer: the updates users send
    # (a typed NIK, a shared contact's phone) and every message sent to them.
    "telegram": logging.INFO,
    # INFO: every request's URL, and a Bot API URL holds the bot token (/bot<TOKEN>/...).
    "httpx": logging.WARNING,
    # DEBUG: each request's steps, and HTTP/2 header frames (an Authorization header).
    "httpcore": logging.WARNING,
    "hpack": logging.WARNING,
    # DEBUG: every Cloud API request's JSON (recipients' numbers, message texts) and answer.
    "pywa": logging.WARNING,
    # INFO: every SQL statement; DEBUG: every row fetched (the roster's phone numbers).
    "sqlalchemy": logging.WARNING,
    # DEBUG: every operation of its connection thread.
    "aiosqlite": logging.WARNING,
    # DEBUG: every connection's events with the client's address.
    "uvicorn": logging.INFO,
    # DEBUG: the event loop's own chatter (slow callbacks shown with their arguments).
    "asyncio": logging.INFO,
    # INFO: a line per migration step and per state-machine transition.
    "alembic": logging.WARNING,
    "transitions": logging.WARNING,
}

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_stderr() -> None:
    """Where records go, before any command runs: standard error, one line each (at
    WARNING until a command has read LOG_LEVEL with the other settings)."""
    logging.basicConfig(stream=sys.stderr, format=LINE_FORMAT)


def set_log_level(level: str) -> None:
    """LOG_LEVEL (a validated name: DEBUG ... CRITICAL) for our own packages; each library
    at it or at its floor, whichever is higher; every other logger at INFO or higher."""
    asked = logging.getLevelNamesMapping()[level]
    logging.getLogger().setLevel(max(asked, logging.INFO))
    for package in OWN_PACKAGES:
        logging.getLogger(package).setLevel(asked)
    for name, floor in LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(asked, floor))


def hold_libraries_at_their_floors() -> None:
    """The floors alone, for a transport started without the command line (by another
    program, or a test) whose logging nobody set: a higher level already set stays."""
    for name, floor in LIBRARY_FLOORS.items():
        library = logging.getLogger(name)
        library.setLevel(max(library.level, floor))

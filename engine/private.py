"""Private by default: only the person who runs Folio can read its home folder.

The home folder holds what people ask and what their documents say (collections, chats,
settings, tuned adapters, logs). On Linux and macOS the default umask makes new files readable
by every account on the computer, so Folio

- switches its own process to private file creation at start (``private_process``): new folders
  are 0700, new files 0600, and a training child process inherits the same;
- tightens a home folder made by an older Folio, or copied from elsewhere, at start
  (``make_home_private``), with one line in the log saying what it changed.

Windows keeps files private per user through the profile folder's access rules; there both
functions do nothing.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_OTHERS = stat.S_IRWXG | stat.S_IRWXO

log = logging.getLogger("folio.private")


def _posix() -> bool:
    return os.name == "posix"


def private_process() -> None:
    """Files and folders this process creates from now on are private (umask 077)."""
    if _posix():
        os.umask(0o077)


def make_home_private(home: Path) -> int:
    """Make ``home`` and everything in it private: folders 0700, files 0600.

    Only what group or others could reach is changed; symbolic links are neither followed nor
    changed (they may point at the user's own documents). Returns how many entries were
    tightened and logs one line when there were any. A home that does not exist yet is left
    to be created (privately, after ``private_process``); an entry that cannot be changed (owned
    by someone else) is counted in the log line, never raised.
    """
    if not _posix():
        return 0
    try:
        top = os.lstat(home)
    except OSError:
        return 0
    if not stat.S_ISDIR(top.st_mode):
        return 0
    changed = 0
    refused = 0

    def tighten(path: str, mode: int, target: int) -> None:
        nonlocal changed, refused
        if not mode & _OTHERS:
            return
        try:
            os.chmod(path, target, follow_symlinks=False)
            changed += 1
        except (OSError, NotImplementedError):
            refused += 1

    tighten(str(home), top.st_mode, PRIVATE_DIR)
    for root, dirs, files in os.walk(home, followlinks=False):
        for name in dirs + files:
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue  # removed meanwhile
            if stat.S_ISDIR(info.st_mode):
                tighten(path, info.st_mode, PRIVATE_DIR)
            elif stat.S_ISREG(info.st_mode):
                tighten(path, info.st_mode, PRIVATE_FILE)
    if changed or refused:
        note = f"; {refused} could not be changed" if refused else ""
        log.warning(
            "Made Folio's home folder %s private: %d files and folders could be read by "
            "other accounts on this computer%s.",
            home,
            changed,
            note,
        )
    return changed

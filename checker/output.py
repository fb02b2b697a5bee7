"""The one way pgcheck writes a file the user named (traces, pages, tables, logs).

Rules (docs/cli.md "Output files"): write only where asked; the target must be a regular
file or a new name (a device, FIFO, directory or symlink is refused with one line, never
replaced); write into the file itself rather than renaming a temporary over it, so no
other name in the folder is touched; remove only a file this call created and could not
finish. Missing parent folders of the named path are created, as part of that path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from pgcheck.checker.errors import UsageError


def check_output_path(path: str | Path, flag: str) -> Path:
    """Refuse (one line) a target that is not a regular file or a new name; return it as a Path."""
    text = str(path)
    if not text.strip():
        raise UsageError(f"{flag} is empty; give a file name")
    p = Path(text)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        _check_folder_writable(p.parent, flag, p)
        _probe(p, flag, new=True)
        return p
    except OSError as e:
        raise UsageError(f"{flag} {p}: cannot inspect it ({e.strerror}); choose another path") from None
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"{flag} {p} is a symbolic link; pgcheck writes only regular files, give the real path")
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{flag} {p} is a directory; give a file name inside it")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{flag} {p} is not a regular file (a device, FIFO or socket); choose a file name")
    _probe(p, flag, new=False)
    return p


def _probe(p: Path, flag: str, new: bool) -> None:
    """Open the target for writing now (a new name: create it and remove it again), so a path
    that cannot be written is refused before a long run rather than after it."""
    if new and not p.parent.exists():
        return  # its folders are created when the file is written; the nearest one was checked
    try:
        flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(p, flags | (os.O_CREAT | os.O_EXCL if new else 0), 0o666)
    except FileExistsError:
        return  # appeared meanwhile; write_output checks it again
    except OSError as e:
        raise UsageError(f"cannot write {flag} {p} ({e.strerror}); choose another path") from None
    os.close(fd)
    if new:
        _remove_quietly(p)


def _check_folder_writable(folder: Path, flag: str, p: Path) -> None:
    """The nearest existing folder above a new name must be a folder this process may write in."""
    d = folder
    while not os.path.lexists(d) and d != d.parent:
        d = d.parent
    if not d.is_dir():
        raise UsageError(f"{flag} {p}: {d} is not a folder; choose another path")
    if not os.access(d, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {p}: the folder {d} is not writable; choose another path")


def write_output(path: str | Path, data: str | bytes, flag: str) -> Path:
    """Write `data` to `path` under the rules above; every failure is one `UsageError` line."""
    p = check_output_path(path, flag)
    raw = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    created_dirs = _make_parents(p.parent, flag)
    created = False
    try:
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
            created = True
        except FileExistsError:
            check_output_path(p, flag)  # it appeared meanwhile: the same checks again
            fd = os.open(p, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise UsageError(f"{flag} {p} is not a regular file; choose a file name") from None
            os.ftruncate(fd, 0)
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    except OSError as e:
        if created:
            _remove_quietly(p)
        for d in reversed(created_dirs):
            _rmdir_quietly(d)
        reason = e.strerror or errno.errorcode.get(e.errno or 0, "error")
        raise UsageError(f"cannot write {flag} {p} ({reason}); choose another path") from None
    return p


def _make_parents(folder: Path, flag: str) -> list[Path]:
    """Create the missing folders of the named path; return those created (outermost first)."""
    missing: list[Path] = []
    d = folder
    while not d.exists() and d != d.parent:
        missing.append(d)
        d = d.parent
    if d.exists() and not d.is_dir():
        raise UsageError(f"{flag}: {d} is not a folder; choose another path")
    created: list[Path] = []
    for m in reversed(missing):
        try:
            m.mkdir()
        except OSError as e:
            for c in reversed(created):
                _rmdir_quietly(c)
            raise UsageError(f"{flag}: cannot create the folder {m} ({e.strerror}); choose another path") from None
        created.append(m)
    return created


def _remove_quietly(p: Path) -> None:
    with contextlib.suppress(OSError):
        p.unlink()


def _rmdir_quietly(p: Path) -> None:
    with contextlib.suppress(OSError):
        p.rmdir()

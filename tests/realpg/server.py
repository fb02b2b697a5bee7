"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary directory, start it
listening on a Unix socket in that directory only, stop it and remove the directory.

The server refuses to run as root, so as root the cluster belongs to the `postgres` user
that Debian's package creates and every server command runs through `runuser`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SERVER_SETTINGS = (
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "listen_addresses = ''",  # the Unix socket in the data directory only
    "max_connections = 40",
    "shared_buffers = 16MB",
    "log_min_messages = warning",
)


class ServerUnavailable(RuntimeError):
    """No PostgreSQL server binaries (install Debian's `postgresql` package: ./run tests does)."""


def server_bindir() -> Path:
    """The newest installed /usr/lib/postgresql/NN/bin holding initdb."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if not found:
        raise ServerUnavailable("no /usr/lib/postgresql/*/bin/initdb: install Debian's postgresql package (./run tests does)")
    return Path(found[-1]).parent


@dataclass
class RealServer:
    bindir: Path
    root: Path  # temporary directory: data/ and the socket
    user: str | None  # run server commands as this user (when started as root)
    version: str = ""

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> str:
        return str(self.root)

    def conninfo(self, **extra: str) -> str:
        parts = {"host": self.socket_dir, "dbname": "postgres", "user": self.superuser, **extra}
        return " ".join(f"{k}={v}" for k, v in parts.items())

    @property
    def superuser(self) -> str:
        return self.user or pwd.getpwuid(os.getuid()).pw_name

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def start(self) -> RealServer:
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        out = self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.superuser, "--no-sync", "-E", "UTF8")
        if out.returncode != 0:
            raise ServerUnavailable(f"initdb failed: {out.stderr.strip()}")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n".join((*SERVER_SETTINGS, f"unix_socket_directories = '{self.root}'")) + "\n")
        log = str(self.root / "server.log")
        out = self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "60", "start")
        if out.returncode != 0:
            tail = Path(log).read_text()[-2000:] if Path(log).exists() else ""
            raise ServerUnavailable(f"pg_ctl start failed: {out.stderr.strip()} {tail}")
        self.version = self._run("postgres", "--version").stdout.strip()
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> RealServer:
    """Create and start a cluster; the caller must stop() it (also on failure)."""
    bindir = server_bindir()
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise ServerUnavailable("running as root needs the 'postgres' user (Debian's postgresql package creates it)") from None
        user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="pgcheck-realpg-"))
    os.chmod(root, 0o700)
    server = RealServer(bindir, root, user)
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise

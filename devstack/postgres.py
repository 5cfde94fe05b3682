"""A throw-away local PostgreSQL cluster (initdb + pg_ctl from the machine), or nothing when
DATABASE_URL is given.

initdb refuses to run as root, so as root the cluster runs as the `postgres` system user
(created by Debian's package; `scripts/ensure-system-deps.sh` installs it when missing).
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    if which:
        return Path(os.path.realpath(which)).parent
    raise RuntimeError("PostgreSQL server binaries not found: run scripts/ensure-system-deps.sh")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    def __init__(self, port: int | None = None, base_dir: str | None = None):
        self.bin = _bin_dir()
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="prosync-pg-", dir=base_dir))
        self.data = self.dir / "data"
        self._as_user = None
        if os.geteuid() == 0:
            self._as_user = pwd.getpwnam("postgres")
            os.chown(self.dir, self._as_user.pw_uid, self._as_user.pw_gid)

    def _demote(self):
        if self._as_user:
            os.setgid(self._as_user.pw_gid)
            os.setuid(self._as_user.pw_uid)

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bin / args[0]), *args[1:]], check=True, capture_output=True,
                       preexec_fn=self._demote if self._as_user else None, cwd=self.dir)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> "LocalPostgres":
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--locale=C")
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
                " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")
        return self

    def create_database(self, name: str, template: str | None = None) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            tmpl = f" TEMPLATE {template}" if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{tmpl}')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def running_postgres(dbname: str = "prosync"):
    """Yields a DATABASE_URL: the environment's own when set, else a new local cluster's."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    pg = LocalPostgres().start()
    try:
        yield pg.create_database(dbname)
    finally:
        pg.stop()

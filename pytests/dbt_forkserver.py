"""dbt started from a process that has imported it already: each dbt command of a test is a fork of
that process instead of a new Python, which saves the 1.4 s of importing dbt and its adapters.

The server (`python -m pytests.dbt_forkserver SOCKET`) imports dbt, then serves each connection in a
fork of its own: that fork starts dbt in a second fork, with the caller's standard streams, its
environment, working directory and arguments, and reports how dbt ended once it has exited
(so a DuckDB file dbt wrote is closed when the caller goes on). The caller is a small script
(`client_script`) that the project runs as its dbt executable (LIFECYCLE_DBT): it ends as dbt ended,
with dbt's exit code or killed by dbt's signal, and passes on the signals it gets. When the caller
is killed, dbt is killed too. A fork starts with none of dbt's state of an earlier command."""
from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

# The caller: stdlib only, started without site packages (-S), so that it starts in milliseconds.
CLIENT = r'''#!{python} -SE
import json, os, signal, socket, struct, sys
sock = socket.socket(socket.AF_UNIX)
try:
    sock.connect({socket_path!r})
except OSError:
    os.execv({dbt!r}, [{dbt!r}, *sys.argv[1:]])  # no server: dbt itself
request = json.dumps({{"args": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}).encode()
socket.send_fds(sock, [struct.pack(">Q", len(request))], [0, 1, 2])
sock.sendall(request)
reply = sock.makefile("r")
pid = int(reply.readline())
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, lambda number, frame: os.kill(pid, number))
ended = reply.readline()
status = int(ended) if ended else 1
if status < 0:
    signal.signal(-status, signal.SIG_DFL)
    os.kill(os.getpid(), -status)
sys.exit(status)
'''


def client_script(path: Path, socket_path: Path) -> Path:
    """Write the caller's script to path (executable) and return it."""
    dbt = str(Path(sys.executable).parent / "dbt")
    path.write_text(CLIENT.format(python=sys.executable, socket_path=str(socket_path), dbt=dbt))
    path.chmod(0o755)
    return path


class ForkServer:
    """The server of one test worker, started at once; LIFECYCLE_DBT = self.client sends dbt there."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.socket_path = directory / "dbt.sock"
        self.socket_path.unlink(missing_ok=True)
        self.log = directory / "dbt-forkserver.log"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "pytests.dbt_forkserver", str(self.socket_path)],
                                            cwd=PROJECT_DIR, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.client = client_script(directory / "dbt", self.socket_path)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.socket_path.parent, ignore_errors=True)


def _run_dbt(args: list[str], env: dict[str, str], cwd: str) -> int:
    """dbt in this (forked) process, as the dbt executable would run it; its exit code."""
    from dbt.cli.main import cli

    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = ["dbt", *args]
    try:
        cli()
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def serve(socket_path: str) -> None:
    import dbt.adapters.duckdb.impl  # noqa: F401  (what every command here needs, imported once)
    import dbt.adapters.postgres.impl  # noqa: F401
    import dbt.cli.main  # noqa: F401
    import dbt.parser.manifest  # noqa: F401
    import dbt.task.build  # noqa: F401

    threads = int(re.search(r"^Threads:\s+(\d+)", Path("/proc/self/status").read_text(), re.M).group(1))
    if threads != 1:  # a fork copies only the forking thread; a lock another one held would never be freed
        sys.exit(f"not serving: {threads} threads after importing dbt (forks of it could hang); dbt runs as usual")
    parent = os.getppid()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the forks that serve callers reap themselves
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(socket_path + ".new")
    listener.listen(16)
    os.rename(socket_path + ".new", socket_path)  # ready once the socket is there
    sys.stdout.flush()
    sys.stderr.flush()
    while os.getppid() == parent:  # the worker that started it has gone: stop
        if not select.select([listener], [], [], 1.0)[0]:
            continue
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os._exit(_serve_one(conn))
        conn.close()


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    header, fds, _, _ = socket.recv_fds(conn, 8, 3)
    (size,) = struct.unpack(">Q", header)
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError("the caller went away")
        data += chunk
    return json.loads(data), fds


def _serve_one(conn: socket.socket) -> int:
    request, fds = _receive(conn)
    pid = os.fork()
    if pid == 0:
        conn.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        code = _run_dbt(request["args"], request["env"], request["cwd"])
        sys.stdout.flush()
        sys.stderr.flush()
        sys.exit(code)  # an ordinary exit: DuckDB closes its files before the caller hears of it
    for fd in fds:
        os.close(fd)
    conn.sendall(f"{pid}\n".encode())
    caller_gone = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if caller_gone:
            time.sleep(0.05)
        elif select.select([conn], [], [], 0.1)[0] and not conn.recv(1, socket.MSG_PEEK):
            caller_gone = True  # killed, say: so is its dbt
            os.kill(pid, signal.SIGKILL)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    try:
        conn.sendall(f"{code}\n".encode())
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    serve(sys.argv[1])

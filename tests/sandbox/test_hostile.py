"""Hostile programs, each contained with its reason (the limit it hit, or a failed exit), the host
checked unchanged afterwards.

Order matters for the machine's safety (a fork bomb once took it down): every bomb has a bounded
twin that runs first in this file and proves the bound holds (200 forks reach ``processes``; a
4 GiB allocation loop stops at ``memory_mb``); the real bomb runs only after, with small limits and
a short wall clock.  Every run is bounded by the sandbox's wall clock and the file by a timeout.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
from pathlib import Path

import pytest

from .conftest import processes_with, run

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("bwrap_ready")]

REPO = Path(__file__).resolve().parents[2]


def test_a_plain_program_runs_with_its_stdin():
    r = run("import sys\nprint(sys.stdin.read().upper())\nprint('err', file=sys.stderr)", stdin="hello")
    assert (r.stdout, r.stderr, r.exit_code, r.limit) == ("HELLO\n", "err\n", 0, None)
    assert r.ok and r.duration_s > 0


def test_no_network_even_to_a_loopback_server_of_the_host():
    accepted: list[object] = []
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.settimeout(10)

    def serve():
        try:
            accepted.append(server.accept())
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    code = (
        f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=3)\nprint('CONNECTED')\n"
    )
    try:
        r = run(code, wall_s=20)
    finally:
        server.close()
        thread.join(5)
    assert r.exit_code == 1 and r.limit is None and "CONNECTED" not in r.stdout
    assert "ConnectionRefusedError" in r.stderr or "OSError" in r.stderr, r.stderr
    assert accepted == []
    # and nothing but a loopback interface, down: no route anywhere
    r = run(
        "import socket\nprint(socket.if_nameindex())\nsocket.create_connection(('1.1.1.1', 53), timeout=3)"
    )
    assert r.stdout.strip() == "[(1, 'lo')]" and r.exit_code == 1 and "unreachable" in r.stderr


def test_files_outside_the_work_folder_cannot_be_read(tmp_path):
    secret_db = tmp_path / "service.db"
    with sqlite3.connect(secret_db) as db:
        db.execute("create table t (secret text)")
        db.execute("insert into t values ('TOP-SECRET-ROW')")
    targets = [str(secret_db), str(REPO / "pyproject.toml"), "/etc/passwd", "/etc/shadow", "/root/.bashrc"]
    code = (
        "import json, os, sqlite3\n"
        f"targets = {targets!r}\n"
        "seen = {}\n"
        "for t in targets:\n"
        "    try:\n"
        "        seen[t] = open(t, 'rb').read(200).decode('latin-1')\n"
        "    except OSError as e:\n"
        "        seen[t] = type(e).__name__\n"
        "try:\n"
        f"    seen['sqlite'] = sqlite3.connect('file:{secret_db}?mode=ro', uri=True).execute('select * from t').fetchall()\n"
        "except Exception as e:\n"
        "    seen['sqlite'] = type(e).__name__\n"
        "seen['/'] = sorted(os.listdir('/'))\n"
        "seen['pids'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
        "print(json.dumps(seen))\n"
    )
    r = run(code)
    assert r.exit_code == 0, r.stderr
    seen = json.loads(r.stdout)
    assert {t: seen[t] for t in targets} == dict.fromkeys(targets, "FileNotFoundError")
    assert seen["sqlite"] == "OperationalError"
    assert "TOP-SECRET-ROW" not in r.stdout
    # only what Python needs: no /home, /work, /var, /srv, /mnt; /root only holds a pyenv prefix if any
    assert set(seen["/"]) <= {
        "bin",
        "dev",
        "etc",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "proc",
        "root",
        "sandbox",
        "sbin",
        "tmp",
        "usr",
    }
    assert seen["pids"] == [1, 2] or max(seen["pids"]) < 10  # its own PID namespace: bwrap's init and itself


def test_writes_outside_the_work_folder_do_not_reach_the_host(tmp_path, tag):
    host_file = tmp_path / "escaped.txt"
    host_tmp = Path("/tmp") / f"evalscope-escape-{tag}"
    code = (
        "import json\n"
        f"targets = [{str(host_file)!r}, {str(host_tmp)!r}, '/usr/escaped-{tag}', '/etc/escaped-{tag}', 'inside.txt']\n"
        "out = {}\n"
        "for t in targets:\n"
        "    try:\n"
        "        open(t, 'w').write('x')\n"
        "        out[t] = 'written'\n"
        "    except OSError as e:\n"
        "        out[t] = type(e).__name__\n"
        "print(json.dumps(out))\n"
    )
    r = run(code)
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out[str(host_file)] == "FileNotFoundError"  # the host's folder does not exist in the sandbox
    assert out[str(host_tmp)] == "written" and out["inside.txt"] == "written"  # its own tmpfs: /tmp is cwd
    assert out[f"/usr/escaped-{tag}"] in ("OSError", "PermissionError")  # read-only /usr
    assert out[f"/etc/escaped-{tag}"] in ("OSError", "PermissionError")
    assert not host_file.exists() and not host_tmp.exists()
    assert not Path(f"/usr/escaped-{tag}").exists() and not Path(f"/etc/escaped-{tag}").exists()
    assert list(tmp_path.iterdir()) == []


# --- processes: bounded first, then the bomb --------------------------------------------------


def bounded_forks(tag: str) -> None:
    """200 sleeping children asked for, 16 processes allowed: the bound holds before any bomb runs."""
    code = (
        "import os, time\n"
        "n = 0\n"
        "for i in range(200):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError as e:\n"
        "        print('refused', e.errno)\n"
        "        break\n"
        "    if pid == 0:\n"
        f"        os.execv('/bin/sleep', ['sleep', '300.{tag}'])\n"
        "    n += 1\n"
        "print('forked', n)\n"
    )
    r = run(code, processes=16, wall_s=30)
    assert r.exit_code == 0, r.stderr
    forked = int(r.stdout.split("forked ")[1])
    assert 1 <= forked < 16 and "refused 11" in r.stdout  # EAGAIN
    assert processes_with(tag) == []  # the sleeping children died with the sandbox


def test_bounded_forks_stop_at_the_process_limit(tag):
    bounded_forks(tag)


def test_an_uncaught_fork_failure_is_the_processes_limit():
    code = "import os, time\nfor i in range(100):\n    if os.fork() == 0:\n        time.sleep(30)\n        os._exit(0)\n"
    r = run(code, processes=8, wall_s=30)
    assert r.exit_code == 1 and r.limit == "processes" and "BlockingIOError" in r.stderr


def test_a_fork_bomb_is_contained(tag):
    # Every process forks until the kernel refuses, then turns into a sleeper holding its slot: the
    # bomb fills the allowance and the wall clock kills the whole PID namespace.
    code = (
        "import os\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        f"        os.execv('/bin/sleep', ['sleep', '300.{tag}'])\n"
    )
    bounded_forks(tag)  # never the bomb before its bound is proven, whatever tests were selected
    r = run(code, processes=16, wall_s=3, cpu_s=3)
    assert r.exit_code is None and r.limit == "time"
    assert processes_with(tag) == []


# --- memory: bounded first, then the bomb -------------------------------------------------------


def bounded_allocation() -> None:
    """4 GiB asked in 10 MiB steps, 256 MiB allowed: the bound holds before the bomb runs."""
    code = (
        "chunks = []\n"
        "try:\n"
        "    for i in range(400):\n"  # 400 x 10 MiB = 4 GiB asked, 256 MiB allowed
        "        chunks.append(bytearray(10 << 20))\n"
        "except MemoryError:\n"
        "    pass\n"
        "print(len(chunks) * 10)\n"
    )
    r = run(code, memory_mb=256)
    assert r.exit_code == 0, r.stderr
    assert 0 < int(r.stdout) < 256


def test_bounded_allocation_stops_at_the_memory_limit():
    bounded_allocation()


def test_a_memory_bomb_is_contained():
    bounded_allocation()
    r = run("x = []\nwhile True:\n    x.append(bytearray(50 << 20))\n", memory_mb=256)
    assert r.exit_code == 1 and r.limit == "memory" and "MemoryError" in r.stderr
    r = run("s = ' ' * (1 << 40)\n", memory_mb=256)
    assert r.limit == "memory"


# --- time, output, file size, leftovers --------------------------------------------------------


def test_an_infinite_loop_hits_the_cpu_limit():
    r = run("while True:\n    pass\n", cpu_s=1, wall_s=60)
    assert r.exit_code is None and r.limit == "cpu" and r.signal == 24  # SIGXCPU


def test_a_sleeper_hits_the_wall_clock(tag):
    r = run(f"import os\nos.execv('/bin/sleep', ['sleep', '300.{tag}'])\n", wall_s=1)
    assert r.exit_code is None and r.limit == "time"
    assert processes_with(tag) == []


def test_a_huge_output_is_cut_and_killed():
    r = run("while True:\n    print('x' * 1000)\n", output_bytes=100_000, wall_s=30)
    assert r.exit_code is None and r.limit == "output"
    assert 0 < len(r.stdout) <= 100_000 and set(r.stdout) <= {"x", "\n"}
    r = run("import sys\nwhile True:\n    sys.stderr.write('e' * 4096)\n", output_bytes=50_000, wall_s=30)
    assert r.limit == "output" and len(r.stderr) <= 50_000
    # printed in full and exited: still cut to the bound, and said so
    r = run("print('y' * 5000)", output_bytes=1000)
    assert r.limit == "output" and len(r.stdout) == 1000


def test_a_process_that_outlives_its_parent_dies_with_the_sandbox(tag):
    code = (
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execv('/bin/sleep', ['sleep', '300.{tag}'])\n"
        "    os._exit(0)\n"
        "print('parent done')\n"
    )
    r = run(code, wall_s=30)
    assert r.exit_code == 0 and r.limit is None and r.stdout == "parent done\n"
    assert processes_with(tag) == []


def test_a_big_file_hits_the_file_size_limit():
    r = run("open('big', 'wb').write(b'x' * (4 << 20))\n", file_size_mb=1)
    assert r.exit_code == 1 and r.limit == "file_size" and "File too large" in r.stderr


def test_filling_the_work_folder_stops_at_its_size():
    code = (
        "i = 0\n"
        "try:\n"
        "    while True:\n"
        "        open(f'f{i}', 'wb').write(b'x' * (1 << 20))\n"
        "        i += 1\n"
        "except OSError as e:\n"
        "    print(i, e.errno)\n"
    )
    r = run(code, disk_mb=8, file_size_mb=4)
    assert r.exit_code == 0, r.stderr
    written, errno = map(int, r.stdout.split())
    assert written <= 8 and errno == 28  # ENOSPC

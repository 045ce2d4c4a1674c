"""Starting and talking to the runner (tools/grading/runner.py): one sandboxed process per submitted notebook.

What the sandbox does:

- **No root.** Started as root, the runner runs as an unprivileged user (``nobody`` unless told
  otherwise), with no supplementary groups; started as another user it runs as that user (nothing
  to drop to), and :func:`rights_note` says so.
- **Scrubbed environment.** Only PATH (the course's Python first), a temporary HOME and TMPDIR of its
  own, the locale, OMP_NUM_THREADS, MPLBACKEND=Agg and DEEP_RNN_DATA (the corpora) are set; nothing
  of the grader's environment (tokens, keys, proxies) is passed on. ``python -I`` ignores PYTHON*
  variables and the user's site-packages.
- **Its own folders.** The working folder and HOME are empty folders of its own, in a grading folder
  that others can traverse but not list; its output goes to a log file it cannot open by name.
- **Resource limits** (setrlimit, soft and hard, before the first student cell): CPU seconds, address
  space, the size of any file it writes, no core files, and (as ``nobody``) the number of processes.
- **Time.** Each cell gets ``timeout`` seconds, then SIGINT (a KeyboardInterrupt, as Jupyter's
  interrupt) and a few seconds' grace, then SIGKILL for its whole process group; every student has a
  total time budget over all their notebooks.

What it does not do (a container or VM does; see README, "For teachers"): hide files that other users
may read, cut the network, limit disk use beyond the file-size limit, or catch a process that leaves
its session (setsid) and outlives the run.
"""
import os
import pwd
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import wire

RUNNER = Path(__file__).resolve().parent / "runner.py"
GRACE = 10          # seconds a runner gets to answer after SIGINT before it is killed
START_TIMEOUT = 300  # seconds to import torch, helpers and IPython on a slow, busy machine
SIGNALS = {signal.SIGKILL: "killed (SIGKILL: the time limit, or out of memory)",
           signal.SIGXCPU: "killed by SIGXCPU (its CPU time limit)",
           signal.SIGXFSZ: "killed by SIGXFSZ (a file grew past the file-size limit)",
           signal.SIGSEGV: "killed by SIGSEGV (a crash)", signal.SIGABRT: "aborted (SIGABRT)"}


class RunnerLost(BaseException):
    """The runner died, stopped answering or ran past a time limit: what it had left is not graded.

    A BaseException, so that a check's ``except Exception`` does not take it for the student's error."""


class RunnerStartFailed(ValueError):
    """A runner could not start, before any student code ran: a problem of the setup, not of a submission."""


class CallTimedOut(BaseException):
    """One call of a check into the student's code ran past the cell timeout and was interrupted."""


def sandbox_user(name="nobody"):
    """(uid, gid) to run student code as: `name`'s when this process is root, else None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ValueError(f"--user {name!r}: no such user on this machine; grading as root runs student code as "
                         f"an unprivileged user (create one, e.g. `useradd -r grader`, and pass --user grader)"
                         ) from None
    if entry.pw_uid == 0:
        raise ValueError(f"--user {name!r} is root; name an unprivileged user")
    return entry.pw_uid, entry.pw_gid


def rights_note(user):
    """One line saying whose rights student code runs with."""
    if user is None:
        return (f"note: student code runs as {pwd.getpwuid(os.geteuid()).pw_name} (this user: not root, so "
                f"there is no other user to drop to); it can read and write what you can. Grade as root "
                f"(it drops to nobody) or in a container for more isolation")
    return f"student code runs as {pwd.getpwuid(user[0]).pw_name} (uid {user[0]}), not as root"


def grading_folder():
    """A new temporary folder for the runners' folders: others may pass through it (a runner reaches its own
    HOME and working folder), not list it."""
    folder = Path(tempfile.mkdtemp(prefix="course-grade-"))
    folder.chmod(0o711)
    return folder


def readable_by_others(path):
    """Whether every folder down to `path` lets others in and `path` lets them read."""
    path = Path(path).resolve()
    folders = [*reversed(path.parents)]
    return (all(p.stat().st_mode & 0o001 for p in folders)
            and path.exists() and bool(path.stat().st_mode & 0o004))


def environment(home, data_dir):
    """The runner's whole environment (nothing else of the grader's is passed on)."""
    return {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(home), "TMPDIR": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
            "MPLCONFIGDIR": str(home / ".matplotlib"), "MPLBACKEND": "Agg", "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8", "TERM": "dumb", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
            "DEEP_RNN_DATA": str(data_dir)}


class Runner:
    """One runner process: start, `request` with a deadline, `interrupt`, `close`."""

    def __init__(self, folder, *, user, limits, data_dir, deadline):
        self.folder, self.user, self.limits, self.deadline = Path(folder), user, limits, deadline
        self.data_dir, self.proc, self.sock, self.buffer = data_dir, None, None, b""
        self.grace, self.log = GRACE, None

    # ---- the process ----
    def start(self, startup=()):
        home, work = self.folder / "home", self.folder / "work"
        for path in (self.folder, home, work):
            path.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o711)
        if self.user:
            for path in (home, work):
                os.chown(path, *self.user)
        for path in (home, work):
            path.chmod(0o700)
        ours, theirs = socket.socketpair()
        self.log = open(self.folder / "log.txt", "wb")
        os.chmod(self.folder / "log.txt", 0o600)
        extra = dict(user=self.user[0], group=self.user[1], extra_groups=[]) if self.user else {}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-B", str(RUNNER), str(theirs.fileno())], cwd=work,
                env=environment(home, self.data_dir), stdin=subprocess.DEVNULL, stdout=self.log,
                stderr=subprocess.STDOUT, pass_fds=[theirs.fileno()], start_new_session=True, umask=0o077,
                **extra)
        except OSError as err:
            raise RunnerStartFailed(f"student code could not be started ({err})") from None
        finally:
            theirs.close()
        self.sock = ours
        self.sock.setblocking(False)
        try:
            reply = self.request({"op": "start", "limits": self.limits, "startup": list(startup)},
                                 min(self.deadline, time.monotonic() + START_TIMEOUT), what="starting")
        except (RunnerLost, CallTimedOut) as lost:
            reply = {"fatal": {"type": "RunnerLost", "message": str(lost)}}
        if not reply.get("ready"):
            fatal = reply.get("fatal") if isinstance(reply.get("fatal"), dict) else {}
            self.kill()
            self.log.flush()
            tail = (self.folder / "log.txt").read_text(errors="replace").strip().splitlines()[-6:]
            who = f" as {pwd.getpwuid(self.user[0]).pw_name}" if self.user else ""
            raise RunnerStartFailed(
                f"student code could not be started{who}, before any of it ran ({fatal.get('type', '?')}: "
                f"{str(fatal.get('message', ''))[:300]}); the end of {self.folder / 'log.txt'}:\n    "
                + "\n    ".join(tail) + f"\nThe runner{who} must be able to read this Python ({sys.executable}), "
                f"its standard library and packages, and the course: grade from a checkout and a Python that "
                f"other users can read, name another --user, or grade as a normal user (then without the drop)")
        return reply

    def interrupt(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def kill(self):
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()

    def close(self):
        """Ask the runner to exit, kill what is left of its process group, and remove its HOME and working
        folder (the next student's code runs as the same user); its log stays."""
        if self.proc and self.proc.poll() is None:
            try:
                self.sock.setblocking(True)
                self.sock.settimeout(2)
                self.sock.sendall(wire.dumps({"op": "exit"}))
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        if self.sock:
            self.sock.close()
        if self.log:
            self.log.close()
        for path in (self.folder / "home", self.folder / "work"):
            shutil.rmtree(path, ignore_errors=True)

    def ended(self):
        """How the process ended, in words (None while it runs)."""
        code = self.proc.poll() if self.proc else None
        if code is None:
            return None
        if code < 0:
            return SIGNALS.get(-code, f"killed by signal {-code}")
        return f"exit code {code}"

    # ---- the messages ----
    def request(self, message, deadline, what="a cell"):
        """Send `message`, return the reply; RunnerLost if the runner ends or passes `deadline` (then it is
        interrupted, given GRACE seconds, and killed), CallTimedOut if it answered after an interrupt."""
        self.send(message)
        try:
            return self.receive(min(deadline, self.deadline))
        except TimeoutError:
            self.interrupt()
            try:
                reply = self.receive(time.monotonic() + self.grace)
            except TimeoutError:
                self.kill()
                raise RunnerLost(f"it ran past its time limit in {what} and did not stop when interrupted") from None
            raise CallTimedOut(reply) from None

    def send(self, message):
        data = wire.dumps(message)
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_WRITE)
            while data:
                if not selector.select(timeout=max(0.0, self.deadline - time.monotonic())):
                    raise RunnerLost("it stopped reading the grader's messages")
                try:
                    data = data[self.sock.send(data):]
                except BlockingIOError:
                    continue
                except OSError:
                    raise RunnerLost(f"its process ended ({self.wait_ended()})") from None

    def receive(self, deadline):
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                if len(self.buffer) > wire.MAX_LINE:
                    self.kill()
                    raise RunnerLost("it sent a message larger than the wire allows")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                if not selector.select(timeout=left):
                    continue
                try:
                    chunk = self.sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    raise RunnerLost(f"its process ended ({self.wait_ended()})")
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            return wire.loads(line)
        except wire.WireError as err:
            self.kill()
            raise RunnerLost(f"it sent {err}") from None

    def wait_ended(self):
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
        return self.ended()

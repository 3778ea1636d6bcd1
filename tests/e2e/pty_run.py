#!/usr/bin/env python3
"""pty_run.py OUT INPUT LIMIT CMD... — runs CMD with a fresh pseudo-terminal as its stdin,
stdout, stderr and controlling terminal, the way a user at a terminal runs gatebox. What CMD
writes to the terminal goes to OUT. When CMD has exited, whatever waits in the terminal's
input queue (typed by nobody: pushed there by TIOCSTI) goes to INPUT, which must stay empty.
The terminal is raw, so output is kept byte for byte and injected input is not echoed.
Exits with CMD's exit code (124 when it ran for more than LIMIT seconds and was killed)."""
import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time
import tty

out_path, input_path, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
cmd = sys.argv[4:]

master, slave = os.openpty()
tty.setraw(slave)


def become_session_leader():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


child = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, preexec_fn=become_session_leader,
                         close_fds=True)
deadline = time.monotonic() + limit
timed_out = False
with open(out_path, "wb") as out:
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: no process has the terminal open any more
                data = b""
            out.write(data)
        elif child.poll() is not None:
            break
        if time.monotonic() > deadline and child.poll() is None:
            timed_out = True
            child.send_signal(signal.SIGKILL)
    code = child.wait()

# Our own descriptor of the terminal still reads its input queue.
flags = fcntl.fcntl(slave, fcntl.F_GETFL)
fcntl.fcntl(slave, fcntl.F_SETFL, flags | os.O_NONBLOCK)
injected = b""
while True:
    try:
        data = os.read(slave, 65536)
    except BlockingIOError:
        break
    if not data:
        break
    injected += data
with open(input_path, "wb") as f:
    f.write(injected)
sys.exit(124 if timed_out else (code if code >= 0 else 128 - code))

#!/usr/bin/env python3
"""policy_fd.py CTL ANSWERS CMD...: runs CMD (unisec run ... --policy-fd {fd}) with one end of
a stream socket, whose descriptor number replaces the argument "{fd}". Each line read from the
FIFO CTL names a blob file, sent as a frame (8-byte little-endian length, then the bytes); each
answer line the tender writes back (ack VERSION / refuse VERSION ERRNO REASON) is appended to
ANSWERS. CMD is stopped when CTL is closed and when this helper dies (SIGTERM stops it; any
other death has the kernel send it SIGTERM). Exits with CMD's status."""
import ctypes
import signal
import socket
import struct
import subprocess
import sys
import threading

ctl, answers, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
ours, theirs = socket.socketpair()
fd = theirs.fileno()
PR_SET_PDEATHSIG = 1


def die_with_helper():
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


child = subprocess.Popen([str(fd) if a == "{fd}" else a for a in cmd], pass_fds=(fd,),
                         preexec_fn=die_with_helper)
theirs.close()


def stop(signum, frame):
    child.terminate()
    sys.exit(child.wait())


signal.signal(signal.SIGTERM, stop)


def relay_answers():
    for line in ours.makefile("r"):
        with open(answers, "a") as f:
            f.write(line)


threading.Thread(target=relay_answers, daemon=True).start()
with open(ctl) as f:
    for line in f:
        with open(line.strip(), "rb") as b:
            data = b.read()
        ours.sendall(struct.pack("<Q", len(data)) + data)
child.terminate()
sys.exit(child.wait())

#!/usr/bin/env python3
"""tty_drive.py — runs an interactive program (an editor) on a pseudo-terminal and types keys.

usage: tty_drive.py [--timeout S] KEYS -- COMMAND [ARG...]

KEYS is typed once the program has drawn its first screen, in chunks separated by '|'
(a short pause between chunks lets the program redraw); Python escapes are decoded, so
'\\x0f' is ^O. Exits with the program's status, or 124 when it has not ended in time.
"""
import os
import pty
import select
import sys
import time


def main():
    args = sys.argv[1:]
    timeout = 20.0
    if args[:1] == ["--timeout"]:
        timeout = float(args[1])
        args = args[2:]
    if "--" not in args or args.index("--") != 1:
        print(__doc__, file=sys.stderr)
        return 2
    keys = args[0].encode().decode("unicode_escape").split("|")
    cmd = args[2:]
    env = dict(os.environ, TERM="xterm", LINES="24", COLUMNS="80")
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(cmd[0], cmd, env)
    deadline = time.monotonic() + timeout

    def pump(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    if not os.read(fd, 65536):
                        return False
                except OSError:
                    return False
        return True

    pump(0.5)
    for chunk in keys:
        if chunk:
            os.write(fd, chunk.encode())
        if not pump(0.3):
            break
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        pump(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return 124


if __name__ == "__main__":
    sys.exit(main())

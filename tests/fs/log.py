#!/usr/bin/env python3
"""tests/fs/log.py — the daemon's log (engine/log.h), from a real mount.

- A file (--log FILE, daemonised): every line is "TIME unisec: LEVEL: ...", TIME RFC 3339 with
  milliseconds and an offset, times in order; a refused write is an error line.
  (tests/engine/test_log.c checks the line format itself: several lines, long ones.)
- SIGHUP reopens the file (-f --log FILE): after the file is moved away, the next lines go to a
  new file at the path, the moved one keeps the earlier ones, and the mount is still served.
- The journal: when $JOURNAL_STREAM names stderr, lines carry "<6>" / "<3>" priorities instead
  of the time; when it names another file, stderr lines are stamped.
- syslog (--log syslog): in a private mount namespace whose /dev/log is a socket this test
  reads, the daemon's lines arrive as datagrams with priority, ident unisec[PID] and level.
Skips (77) without /dev/fuse or fusermount3; the syslog part says why it is skipped where a
mount namespace cannot be made.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys

U = os.environ["UNISEC"]
SRC = os.environ["UNISEC_SRCDIR"]
sys.path.insert(0, os.path.join(SRC, "tests"))
from checks import check, end, mounted, run, wait  # noqa: E402
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(?:[+-]\d\d:\d\d|Z)) unisec: (info|warning|error): \S")








def unmount(m):
    if mounted(m):
        subprocess.run(["fusermount3", "-u", m])
    return wait(lambda: not mounted(m))


def write(path, text):
    """Writes TEXT as `echo` would; returns the errno of a refusal, or 0."""
    try:
        with open(path, "w") as f:
            f.write(text)
        return 0
    except OSError as e:
        return e.errno


def stamped(lines, what):
    bad = [l for l in lines if not STAMP.match(l)]
    check(lines and not bad, f"{what}: every line stamped; not: {bad[:3]}")
    times = [STAMP.match(l).group(1) for l in lines if STAMP.match(l)]
    check(times == sorted(times), f"{what}: times in order")


def file_log(t, store):
    m, log = os.path.join(t, "m1"), os.path.join(t, "file.log")
    os.mkdir(m)
    r = subprocess.run([U, "mount", "--no-run", "--log", log, "--store", store, m],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"mount --log: {r.stderr}")
    check(wait(lambda: os.path.exists(os.path.join(m, "README"))), "served")
    w = os.path.join(m, "nodes/web/security_level")
    check(write(w, "critical\n") == 0, "a level write")
    # A topology with two errors: a refusal whose reason has two lines.
    topo = open(os.path.join(m, "topology.yaml")).read()
    bad = topo.replace("http_port: 8080", "http_port: abc").replace("listen_port: 8000", "listen_port: xyz")
    write(os.path.join(m, "topology.yaml"), bad)
    check(unmount(m), "unmounted")
    lines = open(log).read().splitlines()
    stamped(lines, "--log FILE")
    check(any("security_level default -> critical" in l for l in lines), "the commit is logged")
    check(any(": error: refused topology.yaml" in l for l in lines), "the refusal is an error line")


def hup(t, store):
    m, log = os.path.join(t, "m2"), os.path.join(t, "hup.log")
    os.mkdir(m)
    p = subprocess.Popen([U, "mount", "-f", "--no-run", "--log", log, "--store", store, m],
                         stderr=subprocess.DEVNULL)
    try:
        check(wait(lambda: os.path.exists(os.path.join(m, "README"))), "hup: served")
        w = os.path.join(m, "nodes/web/security_level")
        write(w, "default\n")
        os.rename(log, log + ".1")
        p.send_signal(signal.SIGHUP)
        # The reopen is the signal handler's: the new file appears once it ran.
        check(wait(lambda: os.path.exists(log), 10), "hup: the log is opened again at its path")
        check(write(w, "critical\n") == 0 and mounted(m), "hup: the mount is still served")
        p.send_signal(signal.SIGTERM)
        check(p.wait(30) == 0, "hup: exits 0 on SIGTERM")
        old, new = open(log + ".1").read(), open(log).read()
        check("critical -> default" in old and "critical -> default" not in new,
              "hup: the moved file keeps the lines before")
        check("default -> critical" in new and "unmounted" in new, f"hup: the new file has the lines after: {new!r}")
        stamped(new.splitlines(), "hup: new file")
    finally:
        end(p)
        unmount(m)


def journal(t, store):
    for name, same in (("journal", True), ("other", False)):
        m, err = os.path.join(t, "m-" + name), os.path.join(t, name + ".err")
        os.mkdir(m)
        with open(err, "w") as f:
            st = os.fstat(f.fileno()) if same else os.stat(t)
            env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
            p = subprocess.Popen([U, "mount", "-f", "--no-run", "--store", store, m], env=env,
                                 stderr=f)
        try:
            check(wait(lambda: os.path.exists(os.path.join(m, "README"))), f"{name}: served")
            write(os.path.join(m, "nodes/web/security_level"), "bogus\n")
            p.send_signal(signal.SIGTERM)
            check(p.wait(30) == 0, f"{name}: exits 0")
        finally:
            end(p)
            unmount(m)
        lines = open(err).read().splitlines()
        if same:
            bad = [l for l in lines if not re.match(r"^<[36]>unisec: (info|error|warning): \S", l)]
            check(lines and not bad, f"journal: every line has a priority prefix; not: {bad[:3]}")
            check(any(l.startswith("<3>unisec: error: ") for l in lines), "journal: an error is <3>")
        else:
            stamped(lines, "JOURNAL_STREAM naming another file")


def syslog(t, store):
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode:
        print("SKIP part: syslog (cannot make a mount namespace to give the daemon a /dev/log)")
        return
    d = os.path.join(t, "sock")
    os.mkdir(d)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(os.path.join(d, "log"))
    sock.settimeout(30)
    m = os.path.join(t, "m-syslog")
    os.mkdir(m)
    shadow = os.path.join(SRC, "tests/install/shadow.sh")
    script = ('mount --make-rprivate / && sh "$1" /dev "$2/devbind" "$3/log" && exec "$4" mount -f '
              '--no-run --log syslog --store "$5" "$6"')
    p = subprocess.Popen(["unshare", "-m", "sh", "-c", script, "sh", shadow, t, d, U, store, m],
                         stderr=subprocess.PIPE)
    got = []
    try:
        while not any("mounted" in g for g in got):
            got.append(sock.recv(8192).decode(errors="replace"))
        p.send_signal(signal.SIGTERM)
        while not any("unmounted" in g for g in got):
            got.append(sock.recv(8192).decode(errors="replace"))
        check(p.wait(30) == 0, "syslog: exits 0")
    except socket.timeout:
        check(False, f"syslog: lines missing; got {got}; stderr {p.stderr.read1(2000) if p.poll() is not None else ''}")
    finally:
        end(p)
        sock.close()
    pat = re.compile(r"^<30>.*unisec\[%d\]: info: " % p.pid)  # daemon (3) * 8 + info (6)
    check(got and all(pat.match(g) for g in got), f"syslog: priority, ident and level: {got[:3]}")


def main():
    return run("log", U, SRC, [file_log, hup, journal, syslog])


if __name__ == "__main__":
    sys.exit(main())

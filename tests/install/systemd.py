#!/usr/bin/env python3
"""tests/install/systemd.py — unisec under a service manager.

- The notify protocol (sd_notify(3)), against sockets this test makes: `unisec mount -f` with
  NOTIFY_SOCKET set (a path, then an abstract @name) sends READY=1 once the mount answers
  (checked when the datagram arrives), STOPPING=1 on SIGTERM, then unmounts and exits 0; a
  NOTIFY_SOCKET nobody listens on, or a malformed one, changes nothing but a line in the log.
- The unit (build/install/unisec@.service): systemd-analyze verify accepts it.
- Where systemd is PID 1: unisec@NAME with /etc/unisec/NAME.conf starts (Type=notify), the
  mount answers, stop unmounts. Elsewhere that part is skipped, and says why.
Skips (77) without /dev/fuse or fusermount3.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys

U = os.environ["UNISEC"]
SRC = os.environ["UNISEC_SRCDIR"]
sys.path.insert(0, os.path.join(SRC, "tests"))
from checks import check, end, mounted, run, wait  # noqa: E402
BUILD = os.environ["UNISEC_BUILDDIR"]










def notify_run(t, store, name, abstract):
    """One mount under a notify socket NAME; returns the datagrams received."""
    m = os.path.join(t, "mnt-" + name)
    os.mkdir(m)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        addr = "@unisec-test-%d-%s" % (os.getpid(), name)
        sock.bind("\0" + addr[1:])
    else:
        addr = os.path.join(t, name + ".sock")
        sock.bind(addr)
    sock.settimeout(60)
    env = dict(os.environ, NOTIFY_SOCKET=addr)
    log = open(os.path.join(t, name + ".log"), "w")
    p = subprocess.Popen([U, "mount", "-f", "--no-run", "--store", store, m], env=env,
                         stderr=log)
    got = []
    try:
        msg = sock.recv(4096).decode()
        got.append(msg)
        # READY=1 comes once the mount answers: it must already be there.
        check("READY=1" in msg.split("\n"), f"{name}: READY=1 in {msg!r}")
        check(mounted(m) and os.path.exists(os.path.join(m, "nodes/web/security_level")),
              f"{name}: the mount answers when READY=1 arrives")
        check("MAINPID=%d" % p.pid in msg.split("\n"), f"{name}: MAINPID is the daemon's in {msg!r}")
        check(any(x.startswith("STATUS=serving ") for x in msg.split("\n")),
              f"{name}: a STATUS line in {msg!r}")
        p.send_signal(signal.SIGTERM)
        msg = sock.recv(4096).decode()
        got.append(msg)
        check("STOPPING=1" in msg.split("\n"), f"{name}: STOPPING=1 in {msg!r}")
        check(p.wait(60) == 0, f"{name}: the daemon exits 0 on SIGTERM")
        check(not mounted(m), f"{name}: stop unmounts")
    except socket.timeout:
        check(False, f"{name}: no datagram within 60 s; log: {open(log.name).read()[-800:]}")
    finally:
        end(p, m)
        sock.close()
    return got


def quiet_run(t, store, name, value):
    """A NOTIFY_SOCKET nobody listens on, or a malformed one: the mount works all the same."""
    m = os.path.join(t, "mnt-" + name)
    os.mkdir(m)
    logp = os.path.join(t, name + ".log")
    with open(logp, "w") as log:
        p = subprocess.Popen([U, "mount", "-f", "--no-run", "--store", store, m],
                             env=dict(os.environ, NOTIFY_SOCKET=value), stderr=log)
    try:
        check(wait(lambda: os.path.exists(os.path.join(m, "README")), 30),
              f"{name}: the mount is served")
        p.send_signal(signal.SIGTERM)
        check(p.wait(60) == 0, f"{name}: exits 0")
        check(not mounted(m), f"{name}: unmounted")
    finally:
        end(p, m)
    return open(logp).read()


def verify_unit(t):
    if shutil.which("systemd-analyze") is None:
        print("SKIP part: systemd-analyze is not installed")
        return
    unit = open(os.path.join(BUILD, "install", "unisec@.service")).read()
    # The unit names the installed binary: point it at this build's, which exists.
    lines = [l for l in unit.split("\n") if l.startswith("ExecStart=")]
    check(len(lines) == 1 and " mount -f " in lines[0], "the unit runs `unisec mount -f`")
    exe = lines[0].split("=", 1)[1].split()[0]
    unit = unit.replace(exe + " ", U + " ")
    d = os.path.join(t, "units")
    os.mkdir(d)
    with open(os.path.join(d, "unisec@.service"), "w") as f:
        f.write(unit)
    r = subprocess.run(["systemd-analyze", "verify", os.path.join(d, "unisec@.service")],
                       capture_output=True, text=True)
    check(r.returncode == 0 and "unisec@" not in r.stderr,
          f"systemd-analyze verify: {r.returncode} {r.stderr.strip()}")
    for key in ("Type=notify", "KillMode=mixed", "EnvironmentFile=/etc/unisec/%i.conf"):
        check(key in unit.split("\n"), f"the unit has {key}")


def systemd_run(t, store):
    try:
        pid1 = open("/proc/1/comm").read().strip()
    except OSError:
        pid1 = "?"
    if pid1 != "systemd" or not os.path.isdir("/run/systemd/system"):
        print(f"SKIP part: the unit under systemd (PID 1 here is {pid1!r}, not systemd)")
        return
    name = "unisec-test-%d" % os.getpid()
    m = os.path.join(t, "mnt-unit")
    conf = f"/etc/unisec/{name}.conf"
    unit = "/run/systemd/system/unisec@.service"
    had_unit = os.path.exists(unit)
    os.makedirs("/etc/unisec", exist_ok=True)
    with open(conf, "w") as f:
        f.write(f"STORE={store}\nMOUNTPOINT={m}\nOPTIONS=norun\n")
    if not had_unit:
        src = open(os.path.join(BUILD, "install", "unisec@.service")).read()
        exe = [l for l in src.split("\n") if l.startswith("ExecStart=")][0].split("=", 1)[1].split()[0]
        with open(unit, "w") as f:
            f.write(src.replace(exe + " ", U + " "))
    try:
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        r = subprocess.run(["systemctl", "start", f"unisec@{name}"], capture_output=True, text=True)
        check(r.returncode == 0, f"systemctl start: {r.stderr.strip()}")
        # Type=notify: start returns once READY=1 came, so the mount answers now.
        check(os.path.exists(os.path.join(m, "nodes/web/security_level")),
              "the mount answers when systemctl start returns")
        subprocess.run(["systemctl", "stop", f"unisec@{name}"], check=True)
        check(not mounted(m), "systemctl stop unmounts")
    finally:
        subprocess.run(["systemctl", "stop", f"unisec@{name}"], capture_output=True)
        os.unlink(conf)
        if not had_unit:
            os.unlink(unit)
        subprocess.run(["systemctl", "daemon-reload"])
        if mounted(m):
            subprocess.run(["fusermount3", "-u", "-z", m])


def quiet_runs(t, store):
    log = quiet_run(t, store, "nobody", os.path.join(t, "nobody.sock"))
    check("cannot tell the service manager" in log, "a NOTIFY_SOCKET nobody listens on is logged")
    log = quiet_run(t, store, "malformed", "relative/path")
    check("neither a path nor @NAME" in log, "a malformed NOTIFY_SOCKET is logged")


def main():
    parts = [lambda t, s: notify_run(t, s, "path", abstract=False),
             lambda t, s: notify_run(t, s, "abstract", abstract=True),
             quiet_runs, lambda t, s: verify_unit(t), systemd_run]
    return run("systemd", U, SRC, parts)


if __name__ == "__main__":
    sys.exit(main())

"""node.py — what the attack tests share: a unikernel image built with `unisec build` and
booted with `unisec run` on each target this machine has, its console, and HTTP clients.

Targets: spt always; hvt where /dev/kvm can be opened (else a visible SKIP line). A test
that ran on no target exits 77.
"""
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time

UNISEC = os.environ.get("UNISEC", "build/unisec")
SRC = os.environ.get("UNISEC_SRCDIR", ".")
FAILS = []


def fail(what):
    print("FAIL: " + what, flush=True)
    FAILS.append(what)


def check(cond, what):
    if cond:
        print("ok: " + what, flush=True)
    else:
        fail(what)
    return cond


def targets():
    """The targets to run on, printing why one is skipped."""
    out = []
    for t in os.environ.get("ATTACK_TARGETS", "hvt spt").split():
        if t == "hvt" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
            print("SKIP hvt: /dev/kvm is missing or not accessible", flush=True)
            continue
        out.append(t)
    return out


def finish():
    """Exits 0, 1 with the failures, or 77 when no target ran."""
    if FAILS:
        print("%d failure(s)" % len(FAILS))
        sys.exit(1)
    print("all passed")
    sys.exit(0)


class Work:
    """A temporary directory and an image cache shared by the tests of one build tree."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="unisec-attack-")
        self.env = dict(os.environ)
        self.env.setdefault("UNISEC_CACHE_DIR", os.path.join(self.dir, "cache"))

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def build(self, topology, node, target, level=None, policy_dir=None):
        """The path of the image `unisec build` made for NODE (at LEVEL, or its only one)."""
        args = [UNISEC, "build", topology, "--node", node, "--target", target,
                "-o", self.path("out")]
        if level:
            args += ["--level", level]
        if policy_dir:
            args += ["--policy-dir", policy_dir]
        r = subprocess.run(args, env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("unisec build failed: " + r.stderr + r.stdout)
        images = [l.split()[-1] for l in r.stdout.splitlines() if " bytes " in l]
        return images[0]

    def passwd(self, user, password, iterations):
        r = subprocess.run([UNISEC, "acl", "passwd", user, "--iterations", str(iterations)],
                           input=password + "\n", capture_output=True, text=True, env=self.env)
        if r.returncode != 0:
            raise RuntimeError("unisec acl passwd failed: " + r.stderr)
        return r.stdout.strip().splitlines()[-1]

    def cleanup(self):
        subprocess.run(["rm", "-rf", self.dir])


class Instance:
    """`unisec run IMAGE --port LISTEN` (any free port of 127.0.0.1 by default): its port and
    its console (stdout)."""

    def __init__(self, work, image, name, extra=(), listen="0"):
        self.out = work.path(name + ".out")
        self.err = work.path(name + ".err")
        self.proc = subprocess.Popen([UNISEC, "run", image, "--port", listen] + list(extra),
                                     stdout=open(self.out, "w"), stderr=open(self.err, "w"),
                                     env=work.env)
        self.port = None
        for _ in range(300):
            m = re.search(r"listening on [^ ]*:(\d+)", open(self.err).read())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if self.port is None:
            self.stop()
            raise RuntimeError("unisec run did not start: " + open(self.err).read())

    def console(self):
        with open(self.out) as f:
            return f.read()

    def wait_console(self, pattern, count=1, guard=30):
        """The console once PATTERN (a regex) occurs COUNT times; a hang guard, not a
        measure: returns what there is after GUARD seconds."""
        for _ in range(int(guard * 20)):
            text = self.console()
            if len(re.findall(pattern, text)) >= count:
                return text
            time.sleep(0.05)
        return self.console()

    def connect(self, source="127.0.0.1", guard=30):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(guard)
        s.bind((source, 0))
        s.connect(("127.0.0.1", self.port))
        return s

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def request(path="/", host="h", headers=(), method="GET"):
    head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, host)
    for h in headers:
        head += h + "\r\n"
    return (head + "\r\n").encode()


def read_response(s):
    """One response head and its Content-Length body from S: (status, bytes), or (None, data)
    when the connection ends first."""
    data = b""
    while b"\r\n\r\n" not in data:
        b = s.recv(65536)
        if not b:
            return None, data
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    n = int(m.group(1)) if m else 0
    while len(body) < n:
        b = s.recv(65536)
        if not b:
            break
        body += b
    return int(head.split(b" ")[1]), head + b"\r\n\r\n" + body[:n]


def get(inst, path="/", headers=(), source="127.0.0.1"):
    """The status of one request on a new connection."""
    s = inst.connect(source)
    try:
        s.sendall(request(path, headers=headers))
        return read_response(s)[0]
    finally:
        s.close()


def policy_dir(work, acl, users):
    """A policy directory: ACL (text) and a credential per (user, password, iterations)."""
    d = work.path("policy")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "acl"), "w") as f:
        f.write(acl)
    with open(os.path.join(d, "groups"), "w") as f:
        f.write("")
    with open(os.path.join(d, "credentials"), "w") as f:
        for user, password, iterations in users:
            f.write(work.passwd(user, password, iterations) + "\n")
    return d


def basic(user, password):
    import base64
    return "Authorization: Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


CHECK_LINE = r"authn: credential check: (\d+) PBKDF2 iterations"


def rules_segment(img):
    """An image's rules segment (the last in memory): (its program header's offset in IMG,
    offset, vaddr, filesz)."""
    phoff, = struct.unpack_from("<Q", img, 0x20)
    phnum, = struct.unpack_from("<H", img, 0x38)
    best = None
    for i in range(phnum):
        at = phoff + i * 56
        typ, _, off, vaddr, _, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", img, at)
        if typ == 1 and (best is None or vaddr > best[2]):  # PT_LOAD
            best = (at, off, vaddr, filesz)
    return best


def boot_once(work, data, name):
    """Runs the image DATA until acl_pep speaks: (exit status, or None when it served; what
    it printed)."""
    path = work.path(name)
    with open(path, "wb") as f:
        f.write(data)
    try:
        inst = Instance(work, path, name)
    except RuntimeError as e:
        return 1, str(e) + open(work.path(name + ".out")).read()
    try:
        text = inst.wait_console(r"acl_pep: ", guard=10)
        inst.proc.wait(timeout=10)
        return inst.proc.returncode, text + open(inst.err).read()
    except subprocess.TimeoutExpired:
        return None, inst.console()
    finally:
        inst.stop()

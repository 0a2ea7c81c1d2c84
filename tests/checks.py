"""tests/checks.py — what the Python integration tests share: counting checks, waiting,
telling a FUSE mount. Import with sys.path holding tests/."""
import sys
import time

failures = []
passes = 0


def check(cond, what):
    """Counts COND; prints WHAT when it is false."""
    global passes
    if cond:
        passes += 1
    else:
        failures.append(what)
        print("FAIL:", what, flush=True)


def mounted(m):
    """Is M a FUSE mount point now?"""
    with open("/proc/mounts") as f:
        return any(l.split()[1] == m and l.split()[2].startswith("fuse") for l in f)


def wait(pred, seconds=30):
    """Polls PRED every 50 ms for SECONDS; its last answer."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def summary(name):
    """Prints the counts; the exit status."""
    print(f"{name}: {passes} passed, {len(failures)} failed")
    return 1 if failures else 0


def end(p, m=None):
    """Kills P if it still runs (a failed test), and lazily unmounts M if still mounted."""
    import subprocess

    if p.poll() is None:
        p.kill()
        p.wait()
    if m is not None and mounted(m):
        subprocess.run(["fusermount3", "-u", "-z", m])


def no_fuse():
    """True (and says SKIP) where a FUSE mount cannot be made: the test exits 77."""
    import os
    import shutil

    if os.path.exists("/dev/fuse") and shutil.which("fusermount3") is not None:
        return False
    print("SKIP: /dev/fuse or fusermount3 is missing")
    return True


def paper_store(unisec, src, t):
    """A store of mount-examples/paper.yaml and its policy in T; its path."""
    import os
    import subprocess

    store = os.path.join(t, "store")
    subprocess.run([unisec, "init", store, "--from", os.path.join(src, "mount-examples/paper.yaml"),
                    "--policy-dir", os.path.join(src, "mount-examples/policy")],
                   check=True, stdout=subprocess.DEVNULL)
    return store


def run(name, unisec, src, parts):
    """The main of a test: skips without FUSE, else calls each of PARTS with a temporary
    directory and a store of the paper's example in it; the exit status."""
    import os
    import tempfile

    if no_fuse():
        return 77
    with tempfile.TemporaryDirectory() as t:
        os.chmod(t, 0o755)
        store = paper_store(unisec, src, t)
        for part in parts:
            part(t, store)
    return summary(name)

"""One build at a time per checkout: an exclusive lock on ``build/.lock``.

Two ``./scons`` in one checkout would write the same targets and the same
.sconsign database at once (seen: both deploys printed the second image's
text, and the mixed result was later taken as up to date).  The first build
holds the lock for its whole life; a second one says so in one line and waits
for it.  The lock is an flock on an open file: it goes away with the process,
however that ends, so a killed build never leaves a stale lock behind.
"""
import fcntl
import os
import sys

_held = []  # the open lock file, kept for the life of the SCons process


def acquire(build_dir, wait=True):
    """Take the checkout's build lock; returns True once held (False when
    ``wait`` is False and another build holds it)."""
    os.makedirs(build_dir, exist_ok=True)
    handle = open(os.path.join(build_dir, ".lock"), "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        if not wait:
            handle.close()
            return False
        print("scons: another build in this checkout (pid %s) holds build/.lock: waiting for it"
              % holder, file=sys.stderr, flush=True)
        fcntl.flock(handle, fcntl.LOCK_EX)
    handle.seek(0)
    handle.truncate()
    handle.write("%d\n" % os.getpid())
    handle.flush()
    _held.append(handle)
    return True

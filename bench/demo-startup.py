#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Start to READY=1 of `hemgated --demo` (the demo's configuration and plugins), on a fresh
state directory and then again on the same one, and how many passwords each start hashed
(Argon2 runs: the daemon logs "user added" or "user password changed" for each).

Also the daemon's CPU time from start to its exit right after READY=1.

Usage: demo-startup.py BUILDDIR [--runs N]
The API listens on a free port instead of the demo's 8080.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def start(build, state, tmp):
    sock_path = os.path.join(tmp, "notify")
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(30)
    conf = os.path.join(tmp, "port.conf")
    with open(conf, "w") as f:
        f.write("[api]\nport = 0\n")
    env = dict(os.environ, NOTIFY_SOCKET=sock_path,
               HEMGATE_PLUGINDIR=os.path.join(build, "plugins"),
               HEMGATE_PLUGIN_HOST=os.path.join(build, "daemon", "host", "hemgate-plugin-host"),
               G_MESSAGES_DEBUG="")
    log = open(os.path.join(tmp, "log"), "w+")
    t0 = time.monotonic()
    proc = subprocess.Popen([os.path.join(build, "daemon", "core", "hemgated"), "--demo",
                             "--state-dir", state, "--config", conf],
                            env=env, stdout=subprocess.DEVNULL, stderr=log)
    ready = None
    try:
        while ready is None:
            if "READY=1" in sock.recv(4096).decode():
                ready = time.monotonic() - t0
    finally:
        proc.terminate()
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        sock.close()
    log.seek(0)
    text = log.read()
    hashes = text.count("user added") + text.count("user password changed")
    # the daemon's CPU time (and of the plugin hosts it waited for), READY=1 being a
    # few ms before the SIGTERM: less at the mercy of a loaded machine than wall time
    return ready * 1000, hashes, (usage.ru_utime + usage.ru_stime) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--forget", action="store_true",
                    help="remove the demo's record of its logins before the restart: every "
                         "start hashes the passwords, as before 2026-12-07")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    fresh, again = [], []
    for _ in range(args.runs):
        tmp = tempfile.mkdtemp(prefix="hemgate-demo-bench-")
        state = os.path.join(tmp, "state")
        fresh.append(start(build, state, tmp))
        if args.forget:
            os.unlink(os.path.join(state, "demo-logins"))
        again.append(start(build, state, tmp))
    for name, runs in (("fresh state dir", fresh), ("restart, same state dir", again)):
        times = sorted(t for t, _, _ in runs)
        cpu = statistics.median(c for _, _, c in runs)
        print(f"hemgated --demo, start to READY=1, {name}, {len(runs)} runs: "
              f"median {statistics.median(times):.1f} ms (min {times[0]:.1f}, max {times[-1]:.1f}); "
              f"CPU until stopped median {cpu:.0f} ms; "
              f"passwords hashed per start: {sorted(set(h for _, h, _ in runs))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

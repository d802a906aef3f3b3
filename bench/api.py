#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Requests per second on GET /api/v1/health with wrk, hemgated against a bare libsoup 3
server (bench/bare-server.c) measured in the same run; target ratio >= 0.8.

Usage: api.py BUILDDIR [--seconds N]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

CONFIG = """
[daemon]
state-dir = {state}
[api]
listen-address = 127.0.0.1
port = 0
tls = false
"""


def wrk(url, seconds):
    out = subprocess.run(["wrk", "-t1", "-c10", f"-d{seconds}s", url],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def start_hemgated(build):
    tmp = tempfile.mkdtemp(prefix="hemgate-bench-")
    conf = os.path.join(tmp, "hemgate.conf")
    with open(conf, "w") as f:
        f.write(CONFIG.format(state=os.path.join(tmp, "state")))
    proc = subprocess.Popen([os.path.join(build, "daemon", "core", "hemgated"), "--config", conf],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, LC_ALL="C"))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        m = re.search(r"ready at (http://\S+)", line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise RuntimeError("hemgated did not become ready")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    build = os.path.abspath(args.build)

    bare = subprocess.Popen([os.path.join(build, "bench", "bare-server")],
                            stdout=subprocess.PIPE, text=True)
    port = int(bare.stdout.readline())
    daemon, url = start_hemgated(build)
    try:
        wrk(f"{url}/api/v1/health", 1)  # warm-up
        bare_rps = wrk(f"http://127.0.0.1:{port}/api/v1/health", args.seconds)
        hg_rps = wrk(f"{url}/api/v1/health", args.seconds)
    finally:
        bare.terminate()
        daemon.terminate()
        daemon.wait(10)
    print(f"GET /api/v1/health, wrk -t1 -c10 -d{args.seconds}s on loopback:")
    print(f"  bare libsoup 3 server {bare_rps:,.0f} req/s")
    print(f"  hemgated             {hg_rps:,.0f} req/s")
    print(f"  ratio {hg_rps / bare_rps:.2f} (target >= 0.8)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

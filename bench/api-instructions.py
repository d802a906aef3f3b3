#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""CPU instructions per GET /api/v1/health request, hemgated against the bare libsoup 3
server, counted by callgrind: repeatable whatever else the machine is doing (unlike
requests/s). Each server runs under callgrind twice, with N1 and N2 keep-alive requests;
the difference divided by N2 - N1 is the cost of one request.

Usage: api-instructions.py BUILDDIR
"""
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

N1, N2 = 200, 1200


def requests(port, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(n):
        conn.request("GET", "/api/v1/health")
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
    conn.close()


def wait_port(port):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def count(argv, port, n, out):
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + argv,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        requests(port, n)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    with open(out) as f:
        for line in f:
            m = re.match(r"(?:summary|totals): (\d+)", line)
            if m:
                return int(m.group(1))
    raise RuntimeError("no totals in " + out)


def per_request(argv, port, tmp, name):
    a = count(argv, port, N1, os.path.join(tmp, f"{name}-1.out"))
    b = count(argv, port, N2, os.path.join(tmp, f"{name}-2.out"))
    return (b - a) / (N2 - N1)


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    tmp = tempfile.mkdtemp(prefix="hemgate-ir-")
    conf = os.path.join(tmp, "hemgate.conf")
    with open(conf, "w") as f:
        f.write(f"[daemon]\nstate-dir = {tmp}/state\n[api]\nlisten-address = 127.0.0.1\n"
                "port = 18571\ntls = false\n")
    bare = per_request([os.path.join(build, "bench", "bare-server"), "18572"], 18572, tmp, "bare")
    hg = per_request([os.path.join(build, "daemon", "core", "hemgated"), "--config", conf], 18571, tmp, "hemgated")
    print(f"instructions per GET /api/v1/health (callgrind, keep-alive, {N2 - N1} requests):")
    print(f"  bare libsoup 3 server {bare:,.0f}")
    print(f"  hemgated             {hg:,.0f}")
    print(f"  ratio bare/hemgated {bare / hg:.2f} (the CPU-bound ceiling of the req/s ratio; target >= 0.8)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

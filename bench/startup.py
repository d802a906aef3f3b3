#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Cold start to READY=1 and idle memory of hemgated with two plugin hosts.

Usage: startup.py BUILDDIR [--runs N]
Starts hemgated N times (each in a fresh state dir, after one warm-up run that also
generates the TLS certificate), listens on a NOTIFY_SOCKET for READY=1, and reads VmRSS
of the daemon and of its plugin hosts after 2 s idle.
"""
import argparse
import os
import socket
import statistics
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
tls = {tls}
[plugins]
directory = {plugindir}
host = {host}
[plugin:example-a]
plugin = example
domain = personal
[plugin:example-b]
plugin = example
domain = municipal
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def one_run(build, state, tls, measure_memory):
    tmp = tempfile.mkdtemp(prefix="hemgate-bench-")
    sock_path = os.path.join(tmp, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(10)
    conf = os.path.join(tmp, "hemgate.conf")
    with open(conf, "w") as f:
        f.write(CONFIG.format(state=state, tls="true" if tls else "false",
                              plugindir=os.path.join(build, "plugins"),
                              host=os.path.join(build, "daemon", "host", "hemgate-plugin-host")))
    env = dict(os.environ, NOTIFY_SOCKET=sock_path)
    t0 = time.monotonic()
    proc = subprocess.Popen([os.path.join(build, "daemon", "core", "hemgated"), "--config", conf],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ready = None
    try:
        while ready is None:
            data = sock.recv(4096).decode()
            if "READY=1" in data:
                ready = time.monotonic() - t0
        mem = None
        if measure_memory:
            time.sleep(2)
            hosts = children(proc.pid)
            mem = (rss_kib(proc.pid), [rss_kib(h) for h in hosts])
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        sock.close()
    return ready, mem


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    build = os.path.abspath(args.build)

    warm_state = tempfile.mkdtemp(prefix="hemgate-bench-state-")
    one_run(build, warm_state, True, False)  # warm-up: certificate, page cache
    times = []
    for _ in range(args.runs):
        t, _ = one_run(build, tempfile.mkdtemp(prefix="hemgate-bench-state-"), False, False)
        times.append(t * 1000)
    times.sort()
    print(f"cold start to READY=1, 2 plugin hosts, {args.runs} runs (fresh state dir each):")
    print(f"  min {times[0]:.1f} ms  median {statistics.median(times):.1f} ms  "
          f"p90 {times[int(len(times) * 0.9) - 1]:.1f} ms  max {times[-1]:.1f} ms  (target < 150 ms)")
    _, mem = one_run(build, warm_state, True, True)
    core, hosts = mem
    print("idle memory after 2 s, TLS on:")
    print(f"  hemgated VmRSS {core / 1024:.1f} MiB (target <= 14 MiB)")
    for i, h in enumerate(hosts):
        print(f"  plugin host {i + 1} VmRSS {h / 1024:.1f} MiB (target <= 6 MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

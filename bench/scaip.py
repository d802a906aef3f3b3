#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The scaip-alarm plugin end to end, against hemgate-arc-sim on loopback:

  latency     POST /api/v1/alarms -> the SIP MESSAGE's <mrq> recorded by the simulated ARC,
              p50/p99/max over N alarms raised one after another (issue 3 target: p99 < 5 ms)
  throughput  alarms acknowledged end to end per second (raise -> MESSAGE -> <mrs> snu=0 ->
              `acknowledged` journaled), 8 clients raising at once
  failover    POST -> the secondary receiver's record, with the primary silent from the
              start, for the default timers and for tight ones
  memory      VmRSS of the idle plugin host

Usage: scaip.py BUILDDIR [--alarms N] [--throughput-alarms N] [--failover-runs N]
Each part runs its own hemgated (demo users, the built plugins, every demo instance off
but one scaip-alarm instance) and its own simulators in a fresh directory.
"""
import argparse
import configparser
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

PASSWORD = "bench-passphrase"
ARC_PASSWORD = "bench-arc"
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Sim:
    def __init__(self, build, tmp, name, *args):
        self.record = os.path.join(tmp, f"arc-{name}.jsonl")
        self.proc = subprocess.Popen(
            [os.path.join(build, "plugins", "scaip-alarm", "tools", "hemgate-arc-sim"),
             "--password", ARC_PASSWORD, "--record", self.record, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"simulator {name} did not start: {line!r}")
        self.port = int(line.split()[1])

    def uri(self, transport="udp"):
        return f"sip:arc@127.0.0.1:{self.port};transport={transport}"

    def records(self):
        out = []
        try:
            with open(self.record) as f:
                for line in f:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
        except FileNotFoundError:
            pass
        return out

    def stop(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(5)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def demo_instances_off():
    demo = configparser.ConfigParser(interpolation=None, strict=False)
    demo.read(os.path.join(TOP, "data", "hemgate-demo.conf"))
    return "".join(f"[{g}]\nenabled = false\n" for g in demo.sections() if g.startswith("plugin:"))


class Gateway:
    def __init__(self, build, tmp, keys):
        conf = os.path.join(tmp, "hemgate.conf")
        with open(conf, "w") as f:
            f.write(f"[daemon]\nstate-dir = {tmp}/state\n"
                    "[api]\nlisten-address = 127.0.0.1\nport = 0\ntls = false\n"
                    f"[plugins]\ndirectory = {build}/plugins\n"
                    f"host = {build}/daemon/host/hemgate-plugin-host\n"
                    + demo_instances_off() +
                    "[plugin:arc]\nplugin = scaip-alarm\ndomain = municipal\n"
                    "aor = sip:4600012345@arc.bench\ncontroller-id = 4600012345\n"
                    f"local-uri = sip:127.0.0.1:*\ndemo-password = {ARC_PASSWORD}\n"
                    "heartbeat-interval = 0\n" + keys)
        self.log = open(os.path.join(tmp, "hemgated.log"), "w")
        env = dict(os.environ, LC_ALL="C", HEMGATE_DEMO_PASSWORD=PASSWORD)
        env.pop("HEMGATE_PLUGINDIR", None)
        env.pop("HEMGATE_PLUGIN_HOST", None)
        self.proc = subprocess.Popen([os.path.join(build, "daemon", "hemgated"), "--demo", "--config", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 30
        url = None
        while time.monotonic() < deadline and url is None:
            line = self.proc.stderr.readline()
            self.log.write(line)
            m = re.search(r"ready at (http://\S+)", line)
            if m:
                url = m.group(1)
        if url is None:
            self.proc.kill()
            raise RuntimeError("hemgated did not become ready")
        threading.Thread(target=self._drain, daemon=True).start()
        parsed = urllib.parse.urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.token = self.request("POST", "/api/v1/auth/login",
                                  {"username": "staff", "password": PASSWORD})["token"]

    def _drain(self):
        for line in self.proc.stderr:
            self.log.write(line)

    def connection(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, method, path, body=None, conn=None):
        own = conn is None
        conn = conn or self.connection()
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Bearer {self.token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        data = json.loads(response.read() or b"{}")
        if own:
            conn.close()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {data}")
        return data

    def wait_running(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for p in self.request("GET", "/api/v1/plugins")["plugins"]:
                if p["id"] == "arc" and p["state"] == "running" and p["pid"]:
                    return p["pid"]
            time.sleep(0.05)
        raise RuntimeError("plugin instance arc did not start")

    def states(self):
        return {a["ref"]: a["state"] for a in self.request("GET", "/api/v1/alarms")["alarms"]}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def latency(build, n):
    with tempfile.TemporaryDirectory(prefix="hemgate-bench-scaip-") as tmp:
        sim = Sim(build, tmp, "primary")
        gw = Gateway(build, tmp, f"primary = {sim.uri()}\n")
        try:
            pid = gw.wait_running()
            time.sleep(2)
            memory = rss_kib(pid)
            conn = gw.connection()
            for _ in range(20):  # warm-up, not counted
                gw.request("POST", "/api/v1/alarms", {"type": "assistance", "location": "hall"}, conn)
            for pause, how in ((0.02, "20 ms apart"), (0, "back to back")):
                sent = {}
                answered = {}
                for _ in range(n):
                    t0 = time.time_ns() // 1000
                    ref = gw.request("POST", "/api/v1/alarms", {"type": "assistance", "location": "hall"}, conn)["ref"]
                    answered[ref] = time.time_ns() // 1000 - t0
                    sent[ref] = t0
                    if pause:
                        time.sleep(pause)
                wait_for(lambda: len({r["ref"] for r in sim.records()} & sent.keys()) == n, 60, "every <mrq>")
                first = {}
                for r in sim.records():
                    first.setdefault(r["ref"], r["time"])
                ms = [(first[ref] - t0) / 1000 for ref, t0 in sent.items()]
                api = [us / 1000 for us in answered.values()]
                dup = sum(1 for r in sim.records() if r["ref"] in sent) - n
                print(f"latency API -> MESSAGE at the ARC, {n} alarms {how} (UDP, loopback): "
                      f"p50 {statistics.median(ms):.2f} ms, p99 {pct(ms, 99):.2f} ms, max {max(ms):.2f} ms; "
                      f"for comparison POST -> 201 (durable commit): p50 {statistics.median(api):.2f} ms, "
                      f"p99 {pct(api, 99):.2f} ms; duplicates at the ARC: {dup}")
            print(f"plugin host idle VmRSS: {memory / 1024:.1f} MiB")
        finally:
            gw.stop()
            sim.stop()


def throughput(build, n, clients=8):
    with tempfile.TemporaryDirectory(prefix="hemgate-bench-scaip-") as tmp:
        sim = Sim(build, tmp, "primary")
        gw = Gateway(build, tmp, f"primary = {sim.uri()}\n")
        try:
            gw.wait_running()
            refs = []
            lock = threading.Lock()

            def raise_some(count):
                conn = gw.connection()
                for _ in range(count):
                    ref = gw.request("POST", "/api/v1/alarms", {"type": "fall", "location": "kitchen"}, conn)["ref"]
                    with lock:
                        refs.append(ref)

            t0 = time.monotonic()
            threads = [threading.Thread(target=raise_some, args=(n // clients,)) for _ in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            raised = time.monotonic() - t0
            wait_for(lambda: sum(1 for s in gw.states().values() if s == "acknowledged") == len(refs), 120,
                     "every alarm acknowledged")
            elapsed = time.monotonic() - t0
            distinct = len({r["ref"] for r in sim.records()})
            print(f"throughput: {len(refs)} alarms from {clients} clients raised in {raised:.2f} s, all acknowledged "
                  f"after {elapsed:.2f} s = {len(refs) / elapsed:.0f} alarms/s end to end "
                  f"(ARC: {len(sim.records())} <mrq>, {distinct} distinct)")
        finally:
            gw.stop()
            sim.stop()


def failover(build, runs, answer_timeout, failover_timeout):
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="hemgate-bench-scaip-") as tmp:
            primary = Sim(build, tmp, "primary", "--command", "silent")
            secondary = Sim(build, tmp, "secondary")
            gw = Gateway(build, tmp, f"primary = {primary.uri()}\nsecondary = {secondary.uri()}\n"
                                     f"answer-timeout = {answer_timeout}\nfailover-timeout = {failover_timeout}\n")
            try:
                gw.wait_running()
                t0 = time.time_ns() // 1000
                ref = gw.request("POST", "/api/v1/alarms", {"type": "fire", "location": "kitchen"})["ref"]
                wait_for(lambda: any(r["ref"] == ref for r in secondary.records()), 120, "the secondary")
                t1 = next(r["time"] for r in secondary.records() if r["ref"] == ref)
                times.append((t1 - t0) / 1e6)
                wait_for(lambda: gw.states().get(ref) == "acknowledged", 60, "acknowledged")
            finally:
                gw.stop()
                primary.stop()
                secondary.stop()
    print(f"failover with a silent primary (answer-timeout {answer_timeout} s, failover-timeout "
          f"{failover_timeout} s), {runs} runs: alarm at the secondary after "
          f"min {min(times):.2f} s, median {statistics.median(times):.2f} s, max {max(times):.2f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--alarms", type=int, default=1000)
    ap.add_argument("--throughput-alarms", type=int, default=400)
    ap.add_argument("--failover-runs", type=int, default=3)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    latency(build, args.alarms)
    throughput(build, args.throughput_alarms)
    failover(build, args.failover_runs, 5, 10)
    failover(build, args.failover_runs, 1, 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

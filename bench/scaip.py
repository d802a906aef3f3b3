#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The scaip-alarm plugin end to end, against hemgate-arc-sim on loopback:

  latency     POST /api/v1/alarms -> the SIP MESSAGE's <mrq> recorded by the simulated ARC,
              p50/p99/max over N alarms raised one after another (issue 3 target: p99 < 5 ms),
              without and then with sensor readings in the background: the same hemgated also
              runs an mqtt-sensors instance (500 devices, device-max-rate 10) fed by a private
              mosquitto on 127.0.0.1 and hemgate-sensor-sim's load scenario at RATE readings/s
              (10,000 by default, as bench-sensors-latency); each latency line names the
              sensor.reading events/s the journal actually took meanwhile
  throughput  alarms acknowledged end to end per second (raise -> MESSAGE -> <mrs> snu=0 ->
              `acknowledged` journaled), 8 clients raising at once
  failover    POST -> the secondary receiver's record, with the primary silent from the
              start, for the default timers and for tight ones
  failed      POST -> the alarm's state delivery-failed in the API, with both receivers
              silent from the start, for the default timers (delivery-timeout 60 s) and
              for tight ones (answer-timeout 1, failover-timeout 2, delivery-timeout 6)
  memory      VmRSS of the idle plugin host
  open-alarms VmRSS of the plugin host holding N open alarms while the ARC is silent (the
              bytes each open alarm costs), then the ARC's recovery: how long until every
              alarm is acknowledged, how many MESSAGEs the ARC got for them (duplicates) and
              how many it had unanswered at once at most (issue 11 points 5 and 7)

Usage: scaip.py BUILDDIR [--alarms N] [--sensor-background RATE]... [--throughput-alarms N]
                 [--failover-runs N] [--open-alarms N] [--part latency|throughput|failover|failed|open-alarms]...
--sensor-background RATE runs the latency part with that background only (0: none; may be
given more than once); without it, the latency part runs without and then with 10,000/s.
Each part runs its own hemgated (demo users, the built plugins, every demo instance off
but one scaip-alarm instance, and for a background one mqtt-sensors instance) and its own
simulators in a fresh directory.
"""
import argparse
import configparser
import http.client
import json
import os
import re
import socket
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
SENSOR_DEVICES = 500
SENSOR_DEVICE_MAX_RATE = 10


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

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        while not self.proc.stdout.readline().startswith("OK "):
            pass

    def stop(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(5)
        except Exception:
            self.proc.kill()
            self.proc.wait()


class Sensors:
    """A private mosquitto on a free 127.0.0.1 port (configured as the tests' HgTestBroker),
    the build's plugins with an mqtt-sensors manifest granting that port (as sensors-demo),
    and the configuration of one mqtt-sensors instance with SENSOR_DEVICES load devices (as
    bench-sensors-latency); start() then runs hemgate-sensor-sim's load scenario."""

    def __init__(self, build, tmp):
        self.build, self.tmp = build, tmp
        self.sim = None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        conf = os.path.join(tmp, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "set_tcp_nodelay true\nmax_queued_messages 0\n"
                    + ("user root\n" if os.getuid() == 0 else ""))
        self.broker = subprocess.Popen(["mosquitto", "-c", conf],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.broker.poll() is not None:
                    self.stop()
                    raise RuntimeError("mosquitto did not start")
                time.sleep(0.01)
        self.plugin_dir = os.path.join(tmp, "plugins")
        os.makedirs(os.path.join(self.plugin_dir, "mqtt-sensors"))
        for name in os.listdir(os.path.join(build, "plugins")):
            built = os.path.join(build, "plugins", name)
            if name != "mqtt-sensors" and os.path.isfile(os.path.join(built, "manifest.json")):
                os.symlink(built, os.path.join(self.plugin_dir, name))
        with open(os.path.join(build, "plugins", "mqtt-sensors", "manifest.json")) as f:
            manifest = f.read().replace("net.connect:127.0.0.1:1883", f"net.connect:127.0.0.1:{self.port}")
        with open(os.path.join(self.plugin_dir, "mqtt-sensors", "manifest.json"), "w") as f:
            f.write(manifest)
        os.symlink(os.path.join(build, "plugins", "mqtt-sensors", "hg-mqtt-sensors-plugin.so"),
                   os.path.join(self.plugin_dir, "mqtt-sensors", "hg-mqtt-sensors-plugin.so"))

    def config(self):
        return ("[plugin:sensors-bench]\nplugin = mqtt-sensors\ndomain = municipal\n"
                f"broker-port = {self.port}\nhealth-interval = 1\n"
                f"device-max-rate = {SENSOR_DEVICE_MAX_RATE}\n"
                + "".join(f"device.load-{i}.source = z2m\ndevice.load-{i}.kind = occupancy\n"
                          f"device.load-{i}.room = room\n" for i in range(SENSOR_DEVICES)))

    def start(self, rate):
        self.sim = subprocess.Popen(
            [os.path.join(self.build, "plugins", "mqtt-sensors", "hemgate-sensor-sim"), "--port", str(self.port),
             "--scenario", "load", "--devices", str(SENSOR_DEVICES), "--rate", str(rate), "--duration", "3600"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        for proc in (self.sim, self.broker):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def demo_instances_off():
    demo = configparser.ConfigParser(interpolation=None, strict=False)
    demo.read(os.path.join(TOP, "data", "hemgate-demo.conf"))
    return "".join(f"[{g}]\nenabled = false\n" for g in demo.sections() if g.startswith("plugin:"))


class Gateway:
    def __init__(self, build, tmp, keys, plugin_dir=None, more=""):
        conf = os.path.join(tmp, "hemgate.conf")
        with open(conf, "w") as f:
            f.write(f"[daemon]\nstate-dir = {tmp}/state\n"
                    "[api]\nlisten-address = 127.0.0.1\nport = 0\ntls = false\n"
                    f"[plugins]\ndirectory = {plugin_dir or build + '/plugins'}\n"
                    f"host = {build}/daemon/host/hemgate-plugin-host\n"
                    + demo_instances_off() +
                    "[plugin:arc]\nplugin = scaip-alarm\ndomain = municipal\n"
                    "aor = sip:4600012345@arc.bench\ncontroller-id = 4600012345\n"
                    f"local-uri = sip:127.0.0.1:*\ndemo-password = {ARC_PASSWORD}\n"
                    "heartbeat-interval = 0\n" + keys + more)
        self.log = open(os.path.join(tmp, "hemgated.log"), "w")
        env = dict(os.environ, LC_ALL="C", HEMGATE_DEMO_PASSWORD=PASSWORD)
        env.pop("HEMGATE_PLUGINDIR", None)
        env.pop("HEMGATE_PLUGIN_HOST", None)
        self.proc = subprocess.Popen([os.path.join(build, "daemon", "core", "hemgated"), "--demo", "--config", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 30
        url = None
        seen = []
        while time.monotonic() < deadline and url is None:
            line = self.proc.stderr.readline()
            if not line:  # it exited
                break
            self.log.write(line)
            seen = (seen + [line.rstrip()])[-5:]
            m = re.search(r"ready at (http://\S+)", line)
            if m:
                url = m.group(1)
        if url is None:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("hemgated did not become ready: " + " | ".join(seen))
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

    def wait_running(self, instance="arc"):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for p in self.request("GET", "/api/v1/plugins")["plugins"]:
                if p["id"] == instance and p["state"] == "running" and p["pid"]:
                    return p["pid"]
            time.sleep(0.05)
        raise RuntimeError(f"plugin instance {instance} did not start")

    def last_seq(self):
        return self.request("GET", "/api/v1/events?limit=1")["last_seq"]

    def count_events(self, kind, after, upto):
        """Events of type kind in the municipal journal with after < seq <= upto."""
        count = 0
        conn = self.connection()
        while after < upto:
            events = self.request("GET", f"/api/v1/events?after={after}&limit=1000", conn=conn)["events"]
            if not events:
                break
            for e in events:
                if e["seq"] <= upto and e["type"] == kind:
                    count += 1
            after = events[-1]["seq"]
        conn.close()
        return count

    def wait_subscribed(self, instance, seconds=30):
        """Until instance's sensor.health says its broker subscription is up."""
        deadline = time.monotonic() + seconds
        after = 0
        while time.monotonic() < deadline:
            events = self.request("GET", f"/api/v1/events?after={after}&limit=1000")["events"]
            for e in events:
                after = e["seq"]
                broker = e["body"].get("broker") if e["type"] == "sensor.health" else None
                if e.get("source") == f"plugin:{instance}" and isinstance(broker, dict) and broker.get("subscribed"):
                    return
            if not events:
                time.sleep(0.1)
        raise RuntimeError(f"{instance} did not subscribe to its broker")

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


def latency(build, n, background=0):
    with tempfile.TemporaryDirectory(prefix="hemgate-bench-scaip-") as tmp:
        sim = Sim(build, tmp, "primary")
        sensors = gw = None
        try:
            if background:
                sensors = Sensors(build, tmp)
                gw = Gateway(build, tmp, f"primary = {sim.uri()}\n", sensors.plugin_dir, sensors.config())
            else:
                gw = Gateway(build, tmp, f"primary = {sim.uri()}\n")
            pid = gw.wait_running()
            if sensors:
                gw.wait_running("sensors-bench")
                gw.wait_subscribed("sensors-bench")
                sensors.start(background)
            time.sleep(2)  # idle plugin host; with a background, let it reach its rate
            memory = rss_kib(pid)
            conn = gw.connection()
            for _ in range(20):  # warm-up, not counted
                gw.request("POST", "/api/v1/alarms", {"type": "assistance", "location": "hall"}, conn)
            for pause, how in ((0.02, "20 ms apart"), (0, "back to back")):
                sent = {}
                answered = {}
                seq0, start = gw.last_seq(), time.monotonic()
                for _ in range(n):
                    t0 = time.time_ns() // 1000
                    ref = gw.request("POST", "/api/v1/alarms", {"type": "assistance", "location": "hall"}, conn)["ref"]
                    answered[ref] = time.time_ns() // 1000 - t0
                    sent[ref] = t0
                    if pause:
                        time.sleep(pause)
                seq1, seconds = gw.last_seq(), time.monotonic() - start
                wait_for(lambda: len({r["ref"] for r in sim.records()} & sent.keys()) == n, 60, "every <mrq>")
                first = {}
                for r in sim.records():
                    first.setdefault(r["ref"], r["time"])
                ms = [(first[ref] - t0) / 1000 for ref, t0 in sent.items()]
                api = [us / 1000 for us in answered.values()]
                dup = sum(1 for r in sim.records() if r["ref"] in sent) - n
                if background:
                    readings = gw.count_events("sensor.reading", seq0, seq1)
                    load = (f"with {background} sensor readings/s offered by hemgate-sensor-sim over "
                            f"{SENSOR_DEVICES} devices, {readings / seconds:.0f} sensor.reading events/s journaled "
                            f"meanwhile (device-max-rate {SENSOR_DEVICE_MAX_RATE})")
                else:
                    load = "no sensor background"
                print(f"latency API -> MESSAGE at the ARC, {n} alarms {how} (UDP, loopback), {load}: "
                      f"p50 {statistics.median(ms):.2f} ms, p99 {pct(ms, 99):.2f} ms, max {max(ms):.2f} ms; "
                      f"for comparison POST -> 201 (durable commit): p50 {statistics.median(api):.2f} ms, "
                      f"p99 {pct(api, 99):.2f} ms; duplicates at the ARC: {dup}")
            if not background:
                print(f"plugin host idle VmRSS: {memory / 1024:.1f} MiB")
        finally:
            if gw:
                gw.stop()
            if sensors:
                sensors.stop()
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


def delivery_failed(build, runs, keys, label):
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="hemgate-bench-scaip-") as tmp:
            primary = Sim(build, tmp, "primary", "--command", "silent")
            secondary = Sim(build, tmp, "secondary", "--command", "silent")
            gw = Gateway(build, tmp, f"primary = {primary.uri()}\nsecondary = {secondary.uri()}\n"
                                     + keys)
            try:
                gw.wait_running()
                t0 = time.monotonic()
                ref = gw.request("POST", "/api/v1/alarms", {"type": "fall", "location": "hall"})["ref"]
                wait_for(lambda: gw.request("GET", f"/api/v1/alarms/{ref}")["state"] == "delivery-failed",
                         300, "delivery-failed")
                times.append(time.monotonic() - t0)
            finally:
                gw.stop()
                primary.stop()
                secondary.stop()
    print(f"delivery failed with both receivers silent ({label}), {runs} runs: POST -> "
          f"delivery-failed in the API after min {min(times):.2f} s, "
          f"median {statistics.median(times):.2f} s, max {max(times):.2f} s")


def open_alarms(build, n, clients=8):
    with tempfile.TemporaryDirectory(prefix="hemgate-bench-scaip-") as tmp:
        sim = Sim(build, tmp, "primary", "--command", "silent")
        gw = Gateway(build, tmp, f"primary = {sim.uri()}\n")
        try:
            pid = gw.wait_running()
            time.sleep(2)
            idle = rss_kib(pid)
            refs = []
            lock = threading.Lock()

            def raise_some(count):
                conn = gw.connection()
                for _ in range(count):
                    ref = gw.request("POST", "/api/v1/alarms", {"type": "fall", "location": "kitchen"}, conn)["ref"]
                    with lock:
                        refs.append(ref)

            threads = [threading.Thread(target=raise_some, args=(n // clients,)) for _ in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            time.sleep(10)  # the host has taken every alarm.raised and probes the silent ARC
            full = rss_kib(pid)
            print(f"open alarms: plugin host VmRSS {idle / 1024:.1f} MiB idle, {full / 1024:.1f} MiB with "
                  f"{len(refs)} open alarms and a silent ARC = {(full - idle) * 1024 / len(refs):.0f} bytes "
                  f"per open alarm")
            sim.command("slow 200")
            sim.command("silent off")
            t0 = time.monotonic()
            wait_for(lambda: sum(1 for s in gw.states().values() if s == "acknowledged") == len(refs), 900,
                     "every alarm acknowledged")
            elapsed = time.monotonic() - t0
            records = [r for r in sim.records() if r.get("mty") == "ME"]
            distinct = len({r["ref"] for r in records})
            pending = max((r.get("pending", 0) for r in records), default=0)
            print(f"recovery of an ARC answering 200 ms late: {len(refs)} alarms acknowledged after "
                  f"{elapsed:.1f} s; the ARC got {len(records)} <mrq> for {distinct} refs "
                  f"({len(records) - distinct} duplicates), at most {pending} unanswered at once; "
                  f"plugin host VmRSS then {rss_kib(pid) / 1024:.1f} MiB")
            time.sleep(40)  # past SIP's Timer J (32 s): every transaction of the recovery is over
            print(f"plugin host VmRSS 40 s later, the {len(refs)} alarms acknowledged and still open: "
                  f"{rss_kib(pid) / 1024:.1f} MiB")
        finally:
            gw.stop()
            sim.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--alarms", type=int, default=1000)
    ap.add_argument("--sensor-background", type=int, action="append", metavar="RATE",
                    help="sensor readings/s in the background of the latency part (0: none); "
                         "default: without, then with 10000")
    ap.add_argument("--throughput-alarms", type=int, default=400)
    ap.add_argument("--failover-runs", type=int, default=3)
    ap.add_argument("--open-alarms", type=int, default=4000)
    ap.add_argument("--part", action="append",
                    choices=["latency", "throughput", "failover", "failed", "open-alarms"],
                    help="run only these parts (default: all)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    parts = args.part or ["latency", "throughput", "failover", "failed", "open-alarms"]
    if "latency" in parts:
        for rate in args.sensor_background or (0, 10000):
            latency(build, args.alarms, rate)
    if "throughput" in parts:
        throughput(build, args.throughput_alarms)
    if "failover" in parts:
        failover(build, args.failover_runs, 5, 10)
        failover(build, args.failover_runs, 1, 2)
    if "failed" in parts:
        delivery_failed(build, args.failover_runs, "", "default timers")
        delivery_failed(build, args.failover_runs,
                        "answer-timeout = 1\nfailover-timeout = 2\ndelivery-timeout = 6\n",
                        "answer-timeout 1 s, failover-timeout 2 s, delivery-timeout 6 s")
    if "open-alarms" in parts:
        open_alarms(build, args.open_alarms)
    return 0


if __name__ == "__main__":
    sys.exit(main())

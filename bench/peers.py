#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""hemgate side by side with what users would pick instead, in one run (issue 13).

Subjects, each doing the same two jobs on 127.0.0.1:
  hemgate   the build's hemgated (BUILDDIR, buildtype=release) with the real plugins:
            one scaip-alarm instance and one mqtt-sensors instance (500 devices,
            device-max-rate 0 and history-interval 0 so that it journals every reading, as
            the peers store every message)
  node-red  Node-RED, pinned in bench/node-red/package-lock.json (npm ci into
            bench/node-red/node_modules when missing), running bench/node-red/flows.json
  floor     small C programs on hemgated's own stack with no framework:
            bench/floor-alarm.c (twice: synchronous=FULL, a synced commit per alarm; and
            synchronous=OFF) and bench/floor-sensors.c

Jobs, with the same load generators for every subject:
  alarms    bench-alarm-load offers POST /api/v1/alarms at --alarm-rate for
            --alarm-seconds; an alarm counts as acknowledged once the subject has the ARC's
            <mrs> snu 0: the peers answer the POST then, hemgated answers it once the alarm
            is durable and the acknowledgement is its alarm.acknowledged event on
            /api/v1/events. The ARC is hemgate-arc-sim over SIP/UDP for every subject,
            without Digest and with the <mrs> in the 200 OK (`in-body on`), so that the
            forward -> ack step is one MESSAGE and its answer for all three.
  readings  hemgate-sensor-sim's load scenario (500 Zigbee2MQTT devices) publishes
            --reading-rate messages/s for --reading-seconds into a private mosquitto; what
            counts is the readings the subject stored (rows; for hemgated, sensor.reading
            events in its journal).

Subjects run one after another, in a rotated order each repetition (--reps). CPU time is
read from /proc/PID/stat of every process of the subject (hemgated and its plugin hosts
and bus; Node-RED's node; the floor program), not of the load generator, the ARC, the
broker or the publisher, between the start of the load and the end of its drain. Load
average is recorded before each job. Prints the JSON of every run and the medians, and
writes both the JSON (--json) and a Markdown section of ratios (--results, appended).

Usage: peers.py BUILDDIR [--quick] [--reps N] [--json FILE] [--results FILE] [...]
"""
import argparse
import datetime
import glob
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scaip  # noqa: E402  (Gateway, Sensors: hemgated and a private broker, as bench/scaip.py)

TOP = scaip.TOP
BENCH = os.path.join(TOP, "bench")
NODE_RED_DIR = os.path.join(BENCH, "node-red")
TICK = os.sysconf("SC_CLK_TCK")
DEVICES = scaip.SENSOR_DEVICES

started = []  # every Popen of this run, stopped at the end whatever happens


def spawn(argv, **kwargs):
    proc = subprocess.Popen(argv, **kwargs)
    started.append(proc)
    return proc


def stop(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop_all():
    for proc in reversed(started):
        stop(proc, 5)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# /proc ------------------------------------------------------------------------------------

def proc_stat(pid):
    """(ppid, utime + stime in ticks) of pid, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def tree(roots):
    """The pids of roots and all their descendants."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st:
                children.setdefault(st[0], []).append(int(name))
    out, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in out and os.path.exists(f"/proc/{pid}"):
            out.add(pid)
            todo.extend(children.get(pid, []))
    return out


def cpu_ticks(roots):
    ticks = {}
    for pid in tree(roots):
        st = proc_stat(pid)
        if st:
            ticks[pid] = st[1]
    return ticks


def cpu_seconds(before, after):
    return sum(t - before.get(pid, 0) for pid, t in after.items()) / TICK


def rss_mib(roots):
    total = 0
    for pid in tree(roots):
        try:
            total += scaip.rss_kib(pid)
        except OSError:
            pass
    return total / 1024


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


# the shared parts: ARC and broker -----------------------------------------------------------

class Arc:
    """hemgate-arc-sim without Digest, answering each MESSAGE with the <mrs> in its 200 OK."""

    def __init__(self, build, tmp):
        self.proc = spawn([os.path.join(build, "plugins", "scaip-alarm", "tools", "hemgate-arc-sim"),
                           "--record", os.path.join(tmp, "arc.jsonl"), "--command", "in-body on"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"hemgate-arc-sim did not start: {line!r}")
        self.port = int(line.split()[1])
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def stop(self):
        stop(self.proc)


def count_rows(path, table):
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.Error:
        return 0


def wait_stable(count, seconds=15):
    """Polls count() until it stops growing (twice the same over 0.5 s), at most seconds."""
    last, deadline = count(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = count()
        if now == last:
            return now
        last = now
    return last


# subjects ---------------------------------------------------------------------------------

class Hemgate:
    name = "hemgate"

    def __init__(self, build, tmp, arc, sensors):
        scaip.SENSOR_DEVICE_MAX_RATE = 0
        # history-interval 0: every reading journaled, also an unchanged value, as the peers
        # store every message
        self.gw = scaip.Gateway(build, tmp, f"primary = sip:arc@127.0.0.1:{arc.port};transport=udp\n",
                                sensors.plugin_dir, sensors.config() + "history-interval = 0\n")
        started.append(self.gw.proc)
        self.gw.wait_running("arc")
        self.gw.wait_running("sensors-bench")
        self.gw.wait_subscribed("sensors-bench")
        self.url = f"http://{self.gw.host}:{self.gw.port}"
        self.state = os.path.join(tmp, "state")

    def pids(self):
        return [self.gw.proc.pid]

    def load_args(self):
        return ["--token", self.gw.token, "--events"]

    def stored(self):
        total = 0
        for path in glob.glob(os.path.join(self.state, "**", "journal.db"), recursive=True):
            try:
                with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
                    total += db.execute("SELECT count(*) FROM events WHERE type = 'sensor.reading'").fetchone()[0]
            except sqlite3.Error:
                pass
        return total

    def stop(self):
        self.gw.stop()


class NodeRed:
    name = "node-red"

    def __init__(self, build, tmp, arc, sensors):
        user = os.path.join(tmp, "node-red")
        os.makedirs(user)
        shutil.copy(os.path.join(NODE_RED_DIR, "flows.json"), user)
        self.alarm_db = os.path.join(tmp, "node-red-alarms.db")
        self.readings_db = os.path.join(tmp, "node-red-readings.db")
        with sqlite3.connect(self.alarm_db) as db:
            db.executescript("PRAGMA journal_mode=WAL;"
                             "CREATE TABLE alarms (ref TEXT PRIMARY KEY, type TEXT NOT NULL, location TEXT,"
                             " body TEXT, state TEXT NOT NULL DEFAULT 'raised', received INTEGER,"
                             " acknowledged INTEGER);")
        with sqlite3.connect(self.readings_db) as db:
            db.executescript("PRAGMA journal_mode=WAL;"
                             "CREATE TABLE readings (device TEXT NOT NULL, kind TEXT NOT NULL, value REAL,"
                             " received INTEGER NOT NULL);")
        port = free_port()
        env = dict(os.environ, NODE_RED_PORT=str(port), ARC_PORT=str(arc.port), MQTT_PORT=str(sensors.port),
                   ALARM_DB=self.alarm_db, READINGS_DB=self.readings_db, NODE_ENV="production")
        self.log = open(os.path.join(tmp, "node-red.log"), "w")
        self.proc = spawn(["node", os.path.join(NODE_RED_DIR, "node_modules", "node-red", "red.js"),
                           "--settings", os.path.join(NODE_RED_DIR, "settings.js"), "--userDir", user],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        flows = connected = False
        deadline = time.monotonic() + 60
        while not (flows and connected):
            line = self.proc.stdout.readline()
            if not line or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Node-RED did not start its flows and connect (see {self.log.name})")
            self.log.write(line)
            flows = flows or "Started flows" in line
            connected = connected or "Connected to broker" in line
        threading.Thread(target=self._drain, daemon=True).start()
        self.url = f"http://127.0.0.1:{port}"

    def _drain(self):
        for line in self.proc.stdout:
            self.log.write(line)

    def pids(self):
        return [self.proc.pid]

    def load_args(self):
        return []

    def stored(self):
        return count_rows(self.readings_db, "readings")

    def stop(self):
        stop(self.proc)


class FloorAlarm:
    def __init__(self, build, tmp, arc, sync):
        self.name = f"floor-{sync}"
        self.proc = spawn([os.path.join(build, "bench", "floor-alarm"), "--arc-port", str(arc.port),
                           "--db", os.path.join(tmp, f"floor-alarms-{sync}.db"), "--sync", sync],
                          stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"floor-alarm did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def pids(self):
        return [self.proc.pid]

    def load_args(self):
        return []

    def stop(self):
        stop(self.proc)


class FloorSensors:
    name = "floor"

    def __init__(self, build, tmp, sensors):
        self.db = os.path.join(tmp, "floor-readings.db")
        self.proc = spawn([os.path.join(build, "bench", "floor-sensors"), "--port", str(sensors.port),
                           "--db", self.db], stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "SUBSCRIBED":
            raise RuntimeError("floor-sensors did not subscribe")

    def pids(self):
        return [self.proc.pid]

    def stored(self):
        return count_rows(self.db, "readings")

    def stop(self):
        stop(self.proc)


# jobs -------------------------------------------------------------------------------------

def alarm_job(build, subject, args):
    load = loadavg()
    time.sleep(args.settle)
    before, t0 = cpu_ticks(subject.pids()), time.monotonic()
    out = subprocess.run([os.path.join(build, "bench", "bench-alarm-load"), subject.url,
                          "--rate", str(args.alarm_rate), "--seconds", str(args.alarm_seconds),
                          "--drain", str(args.drain), *subject.load_args()],
                         capture_output=True, text=True, check=True)
    after, wall = cpu_ticks(subject.pids()), time.monotonic() - t0
    result = json.loads(out.stdout)
    cpu = cpu_seconds(before, after)
    result.update(subject=subject.name, job="alarms", loadavg=load, cpu_s=cpu, wall_s=wall,
                  rss_mib=rss_mib(subject.pids()),
                  cpu_ms_per_alarm=cpu * 1000 / result["acknowledged"] if result["acknowledged"] else None)
    return result


def reading_job(build, subject, sensors, args):
    load = loadavg()
    time.sleep(args.settle)
    stored0 = subject.stored()
    before, t0 = cpu_ticks(subject.pids()), time.monotonic()
    sim = spawn([os.path.join(build, "plugins", "mqtt-sensors", "hemgate-sensor-sim"), "--port", str(sensors.port),
                 "--scenario", "load", "--devices", str(DEVICES), "--rate", str(args.reading_rate),
                 "--duration", str(args.reading_seconds)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    sim_out = sim.communicate()[0]
    offered_s = time.monotonic() - t0
    stored = wait_stable(subject.stored) - stored0
    after, wall = cpu_ticks(subject.pids()), time.monotonic() - t0
    published = int(sim_out.split()[1]) if sim_out.startswith("load:") else args.reading_rate * args.reading_seconds
    cpu = cpu_seconds(before, after)
    return dict(subject=subject.name, job="readings", loadavg=load, published=published,
                offered_per_s=published / offered_s, stored=stored, stored_per_s=stored / offered_s,
                stored_fraction=stored / published if published else None, cpu_s=cpu, wall_s=wall,
                rss_mib=rss_mib(subject.pids()),
                cpu_us_per_reading=cpu * 1e6 / stored if stored else None)


def run_subject(build, name, rep, args):
    results = []
    with tempfile.TemporaryDirectory(prefix=f"hemgate-bench-peers-{name}-") as tmp:
        arc = sensors = None
        try:
            arc = Arc(build, tmp)
            sensors = scaip.Sensors(build, tmp)
            started.append(sensors.broker)
            if name == "floor":
                for sync in ("full", "off"):
                    subject = FloorAlarm(build, tmp, arc, sync)
                    try:
                        results.append(alarm_job(build, subject, args))
                    finally:
                        subject.stop()
                subject = FloorSensors(build, tmp, sensors)
                try:
                    results.append(reading_job(build, subject, sensors, args))
                finally:
                    subject.stop()
            else:
                subject = (Hemgate if name == "hemgate" else NodeRed)(build, tmp, arc, sensors)
                try:
                    results.append(alarm_job(build, subject, args))
                    results.append(reading_job(build, subject, sensors, args))
                finally:
                    subject.stop()
        finally:
            if sensors:
                sensors.stop()
            if arc:
                arc.stop()
    for r in results:
        r["rep"] = rep
        print(json.dumps(r), flush=True)
    return results


# the report -------------------------------------------------------------------------------

COLUMNS = ["hemgate", "node-red", "floor-full", "floor-off"]
HEADS = {"hemgate": "hemgate", "node-red": "Node-RED", "floor-full": "floor, fsync per alarm",
         "floor-off": "floor, synchronous=OFF", "floor": "floor"}
ALARM_ROWS = [("cpu_ms_per_alarm", "CPU per acknowledged alarm (ms)", "{:.3f}"),
              ("ack_per_s", "acknowledged/s", "{:.0f}"),
              ("ack_p50_ms", "POST -> ARC ack p50 (ms)", "{:.1f}"),
              ("ack_p99_ms", "POST -> ARC ack p99 (ms)", "{:.1f}"),
              ("rss_mib", "RSS after the load (MiB)", "{:.1f}")]
READING_ROWS = [("cpu_us_per_reading", "CPU per stored reading (µs)", "{:.1f}"),
                ("offered_per_s", "published/s", "{:.0f}"),
                ("stored_per_s", "stored/s", "{:.0f}"),
                ("stored_fraction", "stored ÷ published", "{:.2f}"),
                ("rss_mib", "RSS after the load (MiB)", "{:.1f}")]


def medians(results):
    out = {}
    for r in results:
        for key, value in r.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out.setdefault((r["job"], r["subject"]), {}).setdefault(key, []).append(value)
    return {k: {key: statistics.median(v) for key, v in d.items()} for k, d in out.items()}


def table(med, job, columns, rows):
    def cell(subject, key, fmt):
        v = med.get((job, subject), {}).get(key)
        return fmt.format(v) if v is not None else "—"

    def ratio(key, other):
        a = med.get((job, "hemgate"), {}).get(key)
        b = med.get((job, other), {}).get(key)
        return f"{a / b:.2f}" if a is not None and b else "—"

    others = [c for c in columns if c != "hemgate"]
    lines = ["| " + " | ".join(["median of the runs"] + [HEADS[c] for c in columns]
                               + [f"hemgate ÷ {HEADS[c]}" for c in others]) + " |",
             "|" + " --- |" * (1 + len(columns) + len(others))]
    for key, label, fmt in rows:
        lines.append("| " + " | ".join([label] + [cell(c, key, fmt) for c in columns]
                                       + [ratio(key, c) for c in others]) + " |")
    return "\n".join(lines)


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", TOP, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    with open(os.path.join(NODE_RED_DIR, "package-lock.json")) as f:
        lock = json.load(f)["packages"]
    return dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                cpu=model, cores=os.cpu_count(), commit=commit + ("+changes" if dirty else ""),
                node=node, node_red=lock["node_modules/node-red"]["version"],
                node_red_sqlite=lock["node_modules/node-red-node-sqlite"]["version"])


def markdown(meta, med, results, args):
    loads = [r["loadavg"][0] for r in results]
    mode = "bench/run --quick" if args.quick else "bench/run"
    if max(loads) > meta["cores"]:
        args.note += (f". **Taken under load** (a load average above the machine's {meta['cores']} "
                      "cores: other work was running): not representative")
    return f"""
## {meta['date'][:10]}, side by side: hemgate, Node-RED and the bare C floor (`{mode}`)

{meta['cpu']}, {meta['cores']} cores, commit {meta['commit']}, Node.js {meta['node']}, Node-RED
{meta['node_red']} with node-red-node-sqlite {meta['node_red_sqlite']}; {meta['date']}.
{args.reps} repetition(s) in {meta['elapsed_s']} s, subjects interleaved; load average (1 min) before each job
{min(loads):.2f}–{max(loads):.2f}{args.note}.

Alarms: {args.alarm_rate}/s offered for {args.alarm_seconds} s (`bench-alarm-load`, open loop),
each to hemgate-arc-sim over SIP/UDP, the `<mrs>` in the 200 OK, for every subject.

{table(med, 'alarms', COLUMNS, ALARM_ROWS)}

Sensor readings: {args.reading_rate}/s published for {args.reading_seconds} s by
hemgate-sensor-sim (load scenario, {DEVICES} devices) into mosquitto; hemgate's
mqtt-sensors instance has `device-max-rate = 0` and `history-interval = 0` (every reading
journaled, as the peers store every message).

{table(med, 'readings', ['hemgate', 'node-red', 'floor'], READING_ROWS)}
"""


def ensure_node_red():
    if os.path.exists(os.path.join(NODE_RED_DIR, "node_modules", "node-red", "red.js")) and os.path.exists(
            os.path.join(NODE_RED_DIR, "node_modules", "sqlite3", "build", "Release", "node_sqlite3.node")):
        return
    print("== installing Node-RED (npm ci in bench/node-red)", flush=True)
    # sqlite3 is built from source against Debian's libsqlite3 and the installed Node.js
    # headers (no prebuilt binary can be downloaded); as bench/node-red/.npmrc, also given
    # here for its install script in case npm stops passing on unknown project settings
    env = dict(os.environ, npm_config_build_from_source="true", npm_config_sqlite="/usr",
               npm_config_nodedir="/usr")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_RED_DIR, check=True,
                   stdout=subprocess.DEVNULL, env=env)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--quick", action="store_true", help="one short repetition: checks that the harness works")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--alarm-rate", type=int)
    ap.add_argument("--alarm-seconds", type=float)
    ap.add_argument("--reading-rate", type=int)
    ap.add_argument("--reading-seconds", type=float)
    ap.add_argument("--drain", type=float, default=10, help="seconds the alarm load waits past its offer")
    ap.add_argument("--settle", type=float, default=1, help="idle seconds before each job")
    ap.add_argument("--subjects", default="hemgate,node-red,floor")
    ap.add_argument("--json", help="write every run and the medians here")
    ap.add_argument("--results", help="append the Markdown section here (e.g. bench/RESULTS.md)")
    ap.add_argument("--note", default="", help="text added after the load average in the Markdown")
    args = ap.parse_args()
    quick = dict(reps=1, alarm_rate=100, alarm_seconds=3, reading_rate=2000, reading_seconds=3)
    full = dict(reps=3, alarm_rate=1000, alarm_seconds=10, reading_rate=10000, reading_seconds=10)
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.quick:
        args.drain = min(args.drain, 5)
    build = os.path.abspath(args.build)

    def interrupted(signum, frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, interrupted)

    ensure_node_red()
    t0 = time.monotonic()
    subjects = args.subjects.split(",")
    results = []
    try:
        for rep in range(args.reps):
            order = subjects[rep % len(subjects):] + subjects[:rep % len(subjects)]
            for name in order:
                results.extend(run_subject(build, name, rep, args))
    finally:
        stop_all()
    meta = machine()
    meta["elapsed_s"] = round(time.monotonic() - t0)
    med = medians(results)
    summary = {f"{job}/{subject}": values for (job, subject), values in med.items()}
    text = markdown(meta, med, results, args)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(meta=meta, args=vars(args), runs=results, medians=summary), f, indent=1)
    if args.results:
        with open(args.results, "a") as f:
            f.write(text)
    # a harness that measured nothing must not look like a result
    empty = [f"{r['subject']} {r['job']}" for r in results
             if (r["acknowledged"] if r["job"] == "alarms" else r["stored"]) == 0]
    if empty:
        print(f"peers.py: nothing acknowledged or stored by: {', '.join(empty)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""CPU and instructions per alarm on hemgate's alarm path, figures that do not depend on
how busy the machine is (issue 13).

The alarm job of bench/peers.py, hemgate only, with what it costs split by process:
bench-alarm-load offers POST /api/v1/alarms at --rate for --seconds (after its warm-up)
to a hemgated with one scaip-alarm instance (no other plugin) whose ARC is
hemgate-arc-sim without Digest and with the <mrs> in the 200 OK; the generator follows
alarm.acknowledged on /api/v1/events. Printed:

  - utime + stime of hemgated and of each process under it (its plugin host(s)) from
    /proc between the start of the load and its end, per acknowledged alarm;
  - with --callgrind, the instructions each of them ran for the load (hemgated and the
    plugin host under valgrind --tool=callgrind with collection off until the load starts,
    then dumped when it ends), per acknowledged alarm, and the callgrind files to read
    with callgrind_annotate (kept in --out);
  - with --floor, the same CPU (and instructions) of bench/floor-alarm (--sync full) for
    the same load, and the ratio.

The load average is printed beside each run: the wall-clock figures bench-alarm-load
reports (acknowledged/s, latency) depend on it, CPU time per alarm much less and the
instruction counts not at all.

Usage: alarm-cpu.py BUILDDIR [--rate N] [--seconds S] [--callgrind] [--floor]
                    [--sandbox auto|off] [--out DIR]
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
import scaip  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def user_system(pid):
    """(utime, stime) of pid in ticks, or (0, 0)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return 0, 0
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[11]), int(fields[12])


def ticks_by_pid(roots):
    return {pid: (comm(pid), *user_system(pid)) for pid in peers.tree(roots)}


def callgrind(argv, out, name):
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--dump-instr=no",
            f"--callgrind-out-file={out}/callgrind.{name}.%p", *argv]


def control(pids, *what):
    for pid in pids:
        subprocess.run(["callgrind_control", *what, str(pid)], capture_output=True, text=True)


def dump_totals(out, name, pids):
    """Ir of the dumps made for the load, per pid: the files callgrind.NAME.PID.N (N >= 1)."""
    res = {}
    for pid in pids:
        ir = 0
        for path in glob.glob(f"{out}/callgrind.{name}.{pid}.*"):
            with open(path) as f:
                for line in f:
                    if line.startswith("summary:"):
                        ir += int(line.split()[1])
        res[pid] = ir
    return res


class Gateway:
    """hemgated with one scaip-alarm instance (the demo's other instances off), its ARC
    the bench's hemgate-arc-sim, optionally under callgrind (with its plugin host)."""

    def __init__(self, build, tmp, arc_port, sandbox, out=None):
        host = os.path.join(build, "daemon", "host", "hemgate-plugin-host")
        if out is not None:
            wrapper = os.path.join(tmp, "host-under-callgrind")
            with open(wrapper, "w") as f:
                f.write("#!/bin/sh\nexec " + " ".join(callgrind([host], out, "host")) + ' "$@"\n')
            os.chmod(wrapper, 0o755)
            host = wrapper
        conf = os.path.join(tmp, "hemgate.conf")
        with open(conf, "w") as f:
            f.write(f"[daemon]\nstate-dir = {tmp}/state\n"
                    "[api]\nlisten-address = 127.0.0.1\nport = 0\ntls = false\n"
                    f"[plugins]\ndirectory = {build}/plugins\nhost = {host}\nsandbox = {sandbox}\n"
                    "start-timeout = 120\nwatchdog-timeout = 60\n"
                    + scaip.demo_instances_off()
                    + "[plugin:arc]\nplugin = scaip-alarm\ndomain = municipal\n"
                    "aor = sip:4600012345@arc.bench\ncontroller-id = 4600012345\n"
                    f"local-uri = sip:127.0.0.1:*\ndemo-password = {scaip.ARC_PASSWORD}\n"
                    f"heartbeat-interval = 0\nprimary = sip:arc@127.0.0.1:{arc_port};transport=udp\n")
        self.log = open(os.path.join(tmp, "hemgated.log"), "w")
        env = dict(os.environ, LC_ALL="C", HEMGATE_DEMO_PASSWORD=scaip.PASSWORD)
        env.pop("HEMGATE_PLUGINDIR", None)
        env.pop("HEMGATE_PLUGIN_HOST", None)
        argv = [os.path.join(build, "daemon", "core", "hemgated"), "--demo", "--config", conf]
        if out is not None:
            argv = callgrind(argv, out, "hemgated")
        self.proc = peers.spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=env)
        deadline = time.monotonic() + 120
        url = None
        while time.monotonic() < deadline and url is None:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.write(line)
            m = re.search(r"ready at (http://\S+)", line)
            if m:
                url = m.group(1)
        if url is None:
            raise RuntimeError(f"hemgated did not become ready (see {self.log.name})")
        import threading
        threading.Thread(target=lambda: [self.log.write(x) for x in self.proc.stderr], daemon=True).start()
        gw = scaip.Gateway.__new__(scaip.Gateway)
        m = re.match(r"http://([^:/]+):(\d+)", url)
        gw.host, gw.port, gw.token = m.group(1), int(m.group(2)), None
        gw.token = gw.request("POST", "/api/v1/auth/login",
                              {"username": "staff", "password": scaip.PASSWORD})["token"]
        self.gw = gw
        self.host_pid = gw.wait_running("arc")
        self.url = f"http://{gw.host}:{gw.port}"

    def stop(self):
        peers.stop(self.proc, 30)


def run_load(build, url, args, extra):
    out = subprocess.run([os.path.join(build, "bench", "bench-alarm-load"), url, "--rate", str(args.rate),
                          "--seconds", str(args.seconds), "--drain", str(args.drain), *extra],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def measure(name, build, url, roots, args, extra, cg_pids=None, strace_pids=None):
    load = peers.loadavg()
    time.sleep(1)
    tracers = []
    for pid in strace_pids or []:
        if args.perf:
            path = f"{args.out}/perf.{comm(pid)}.{pid}.data"
            tracers.append(subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "2000", "-g",
                                             "-o", path, "-p", str(pid)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            continue
        path = f"{args.out}/strace.{comm(pid)}.{pid}"
        tracers.append(subprocess.Popen(["strace", "-c", "-f", "-o", path, "-p", str(pid)],
                                        stderr=subprocess.DEVNULL))
    if tracers:
        time.sleep(1)
    if cg_pids:
        control(cg_pids, "--instr=on")
        control(cg_pids, "-z")
    before = ticks_by_pid(roots)
    result = run_load(build, url, args, extra)
    after = ticks_by_pid(roots)
    for tracer in tracers:
        tracer.send_signal(2)
        tracer.wait()
    if cg_pids:
        control(cg_pids, "-d")
    n = result["acknowledged"]
    per = {}
    system = 0
    for pid, (who, user, sys_) in after.items():
        _, user0, sys0 = before.get(pid, (who, 0, 0))
        per.setdefault(who, 0)
        per[who] += (user - user0 + sys_ - sys0) / TICK
        system += (sys_ - sys0) / TICK
    total = sum(per.values())
    line = dict(subject=name, loadavg=load, acknowledged=n, offered=result["offered"],
                ack_per_s=round(result["ack_per_s"]), ack_p50_ms=result["ack_p50_ms"],
                ack_p99_ms=result["ack_p99_ms"],
                cpu_ms_per_alarm=round(total * 1000 / n, 3) if n else None,
                system_ms_per_alarm=round(system * 1000 / n, 3) if n else None,
                cpu_ms_per_alarm_by_process={k: round(v * 1000 / n, 3) for k, v in per.items()} if n else None)
    return line


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--drain", type=float, default=20)
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--floor", action="store_true", help="measure bench/floor-alarm --sync full too")
    ap.add_argument("--no-hemgate", action="store_true")
    ap.add_argument("--sandbox", default="auto")
    ap.add_argument("--out", help="where the callgrind files go (kept)")
    ap.add_argument("--perf", action="store_true",
                    help="perf record -e cpu-clock -g of hemgated and its plugin host during the load")
    ap.add_argument("--strace", action="store_true",
                    help="count the system calls of hemgated and its plugin host during the load")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    out = os.path.abspath(args.out) if args.out else None
    if args.callgrind or args.strace or args.perf:
        out = out or tempfile.mkdtemp(prefix="hemgate-alarm-cpu-")
        os.makedirs(out, exist_ok=True)
    args.out = out
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="hemgate-alarm-cpu-") as tmp:
            arc = peers.Arc(build, tmp)
            if not args.no_hemgate:
                gw = Gateway(build, tmp, arc.port, args.sandbox, out if args.callgrind else None)
                try:
                    cg = [gw.proc.pid, gw.host_pid] if args.callgrind else None
                    r = measure("hemgate", build, gw.url, [gw.proc.pid], args,
                                ["--token", gw.gw.token, "--events"], cg,
                                [gw.proc.pid, gw.host_pid] if args.strace or args.perf else None)
                    if args.callgrind:
                        ir = dump_totals(out, "hemgated", [gw.proc.pid])
                        ir.update(dump_totals(out, "host", [gw.host_pid]))
                        n = r["acknowledged"]
                        r["instructions_per_alarm"] = {"hemgated": round(ir[gw.proc.pid] / n),
                                                       "host": round(ir[gw.host_pid] / n),
                                                       "total": round(sum(ir.values()) / n)}
                        r["callgrind"] = out
                    results.append(r)
                finally:
                    gw.stop()
            if args.floor:
                argv = [os.path.join(build, "bench", "floor-alarm"), "--arc-port", str(arc.port),
                        "--db", os.path.join(tmp, "floor.db"), "--sync", "full"]
                if args.callgrind:
                    argv = callgrind(argv, out, "floor")
                proc = peers.spawn(argv, stdout=subprocess.PIPE, text=True)
                try:
                    line = proc.stdout.readline()
                    url = f"http://127.0.0.1:{int(line.split()[1])}"
                    r = measure("floor-full", build, url, [proc.pid], args, [],
                                [proc.pid] if args.callgrind else None)
                    if args.callgrind:
                        ir = dump_totals(out, "floor", [proc.pid])
                        r["instructions_per_alarm"] = {"total": round(ir[proc.pid] / r["acknowledged"])}
                    results.append(r)
                finally:
                    peers.stop(proc)
            arc.stop()
    finally:
        peers.stop_all()
    for r in results:
        print(json.dumps(r))
    if len(results) == 2 and results[0]["cpu_ms_per_alarm"] and results[1]["cpu_ms_per_alarm"]:
        print(f"hemgate / floor CPU per alarm: {results[0]['cpu_ms_per_alarm'] / results[1]['cpu_ms_per_alarm']:.2f}")
        if "instructions_per_alarm" in results[0]:
            print(f"hemgate / floor instructions per alarm: "
                  f"{results[0]['instructions_per_alarm']['total'] / results[1]['instructions_per_alarm']['total']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

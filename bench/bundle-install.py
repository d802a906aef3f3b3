#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Install-to-running time of a plugin bundle: a signed bundle of the example plugin
(hemgatectl bundle create + sign) POSTed to a running `hemgated --demo` (its demo plugins
off), as versions 1, 2, 3, ... so each install is an upgrade that stops the running
version, starts the new one and switches (going back to an older version would be a
downgrade, refused); timed from the POST to the install job's
`running_ms` (the new version running, as the daemon measured it) and to the client seeing
the job succeeded with a health period of 0 s (polling every 20 ms). Also prints the load
average, since the machine is shared.

Usage: bundle-install.py BUILDDIR [--runs N]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

PASSWORD = "bench-bundle-password-4711"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(url, method, path, token=None, body=None, content_type="application/json"):
    req = urllib.request.Request(url + path, method=method, data=body)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    ctl = os.path.join(build, "daemon", "cli", "hemgatectl")
    tmp = tempfile.mkdtemp(prefix="bench-bundle-")
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    conf = os.path.join(tmp, "hemgate.conf")
    with open(conf, "w") as f:
        f.write("[api]\nlisten-address = 127.0.0.1\nport = %d\ntls = false\n\n" % port)
        for name in ("example", "scaip-alarm", "sensors-municipal", "sensors-personal"):
            f.write("[plugin:%s]\nenabled = false\n\n" % name)
    env = dict(os.environ, HEMGATE_DEMO_PASSWORD=PASSWORD,
               HEMGATE_PLUGINDIR=os.path.join(build, "plugins"),
               HEMGATE_PLUGIN_HOST=os.path.join(build, "daemon", "host", "hemgate-plugin-host"))
    proc = subprocess.Popen([os.path.join(build, "daemon", "core", "hemgated"), "--demo",
                             "--state-dir", os.path.join(tmp, "state"), "--config", conf],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if call(url, "GET", "/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        status, login = call(url, "POST", "/api/v1/auth/login",
                             body=json.dumps({"username": "admin", "password": PASSWORD}).encode())
        token = login["token"]
        run = lambda *a: subprocess.run([ctl, *a], cwd=tmp, check=True, stdout=subprocess.DEVNULL,
                                        env=dict(os.environ, HEMGATE_URL=url, HEMGATE_TOKEN=token))
        run("bundle", "keygen", "bench")
        run("trust", "add", "bench.pub")
        bundles = []
        for version in ["%d.0" % (i + 1) for i in range(args.runs)]:
            d = os.path.join(tmp, "v" + version)
            os.makedirs(d)
            shutil.copy(os.path.join(build, "plugins", "example", "hg-example-plugin.so"), d)
            with open(os.path.join(d, "manifest.json"), "w") as f:
                json.dump({"id": "bench-example", "name": "Bench", "version": version,
                           "provider": "bench", "api_version": "1",
                           "module": "hg-example-plugin.so", "domains": ["municipal"],
                           "capabilities": ["sensor.publish"]}, f)
            path = os.path.join(tmp, "v%s.hgp" % version)
            run("bundle", "create", d, path)
            run("bundle", "sign", path, "bench.key")
            with open(path, "rb") as f:
                bundles.append(f.read())
        size = len(bundles[0])
        running, done, client = [], [], []
        for i in range(args.runs):
            t0 = time.monotonic()
            status, job = call(url, "POST", "/api/v1/bundles?health=0", token, bundles[i],
                               "application/octet-stream")
            assert status == 202, job
            while True:
                status, job = call(url, "GET", "/api/v1/bundles/jobs/" + job["job"], token)
                if job["state"] != "running":
                    break
                time.sleep(0.02)
            client.append((time.monotonic() - t0) * 1000)
            assert job["state"] == "succeeded", job
            running.append(job["running_ms"])
            done.append(job["duration_ms"])
        load = open("/proc/loadavg").read().split()[:3]
        print("bundle: %d bytes (example plugin, signed); %d installs, each an upgrade" % (size, args.runs))
        print("load average: %s" % " ".join(load))
        for name, values in (("accepted -> new version running (daemon)", running),
                             ("accepted -> succeeded, health 0 s (daemon)", done),
                             ("POST -> client sees succeeded (20 ms polls)", client)):
            values = sorted(values)
            print("%-46s median %6.0f ms  min %6.0f  max %6.0f" %
                  (name, statistics.median(values), values[0], values[-1]))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

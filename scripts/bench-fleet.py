#!/usr/bin/env python3
"""The fleet benchmark (issue 15, docs/benchmarks.md "Fleet"): `netconverge run` converging a
fleet of vyos-sim routers from empty, one emulator process per router, with the latency model of
`make bench`.

For each scenario (routers x rules per router) it prints: the converge time (daemon start to
every router synced with all its rules), the ideal time beside it (ceil(routers / workers) x the
time one router of that size takes alone), the daemon's peak RSS (VmHWM), its RSS a few seconds after converging (or after the idle minute),
its CPU (user + system) until converged, and, for the scenario given to --idle, the CPU of an
idle minute of 30 s polls. The emulators' CPU is not counted. Convergence is watched on
`/v1/devices?ports=false` every 0.1 s (the full document of 100,000 ports is 28 MB: building it
ten times a second would be the benchmark measuring itself). Not part of `make test`:
`make bench-fleet`.

NC_BENCH_THREADS=1 prints the idle minute's CPU per daemon thread. NC_BENCH_WRAP="heaptrack -o FILE" runs the daemon under a profiler (its numbers are then the
profiler's).

Usage: scripts/bench-fleet.py BUILD_DIR [--scenarios 1x10000,10x10000,100x500,1000x20]
                              [--workers 8] [--idle 1000x20] [--idle-seconds 60]
"""
import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

MODEL = ["--latency-request-ms", "0.5", "--latency-op-ms", "0.02", "--latency-commit-ms", "50",
         "--latency-commit-per-rule-ms", "0.05"]
API_KEY = "bench-fleet-key"
VIEWER_KEY = "bench-fleet-viewer-key-0123456789"
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def wait_for(what, cond, timeout_s, step_s=0.05):
    """Polls `cond` until it returns a true value (returned) or `timeout_s` passes (exit)."""
    end = time.monotonic() + timeout_s
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            sys.exit(f"bench-fleet: timed out waiting for {what}")
        time.sleep(step_s)


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return 0


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def thread_cpu(pid):
    """CPU seconds per thread name (threads of one name summed)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[name] = out.get(name, 0) + (int(fields[11]) + int(fields[12])) / TICK
        except OSError:
            pass
    return out


def thread_delta(a, b):
    return {k: b[k] - a.get(k, 0) for k in b}


class Fleet:
    """R vyos-sim processes and the manifests that declare them, in a scratch directory."""

    def __init__(self, build, routers, rules, work):
        self.build, self.routers, self.rules, self.work = build, routers, rules, work
        self.sims = []
        self.ports = []

    def start(self):
        os.makedirs(f"{self.work}/manifests")
        with open(f"{self.work}/creds.yaml", "w") as f:
            f.write(f"apiKey: {API_KEY}\n")
        for i in range(self.routers):
            d = f"{self.work}/sim{i}"
            os.makedirs(d)
            self.sims.append(subprocess.Popen(
                [f"{self.build}/bin/vyos-sim", "--port-file", f"{d}/port", "--cert-dir", d,
                 "--key", API_KEY, "--body-limit", str(256 << 20), "--hostname", f"r{i}"] + MODEL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for i in range(self.routers):
            port_file = f"{self.work}/sim{i}/port"
            wait_for(f"vyos-sim {i}", lambda: os.path.exists(port_file) and
                     os.path.getsize(port_file) > 0, 60)
            with open(port_file) as f:
                self.ports.append(int(f.read().strip()))
        for i in range(self.routers):
            self.write_router(i)

    def write_router(self, i):
        y = [f"""apiVersion: netconverge.io/v1alpha1
kind: Device
metadata: {{name: r{i}}}
spec:
  platform: vyos
  address: 127.0.0.1:{self.ports[i]}
  credentialsRef: {{file: {self.work}/creds.yaml}}
  tls: {{caFile: {self.work}/sim{i}/ca.pem}}
  ownership: {{ruleRange: 10000-99999}}
  pollInterval: 30s
  vyos: {{maxRequestBytes: {256 << 20}}}
"""]
        for vm in range(math.ceil(self.rules / 10)):
            y.append(f"""---
apiVersion: netconverge.io/v1alpha1
kind: PortForward
metadata: {{name: r{i}-vm{vm}}}
spec:
  deviceRef: r{i}
  vm: vm{vm}
  internalAddress: 10.{vm // 250 % 250}.{vm % 250}.10
  inboundInterface: eth0
  ports:
""")
            for p in range(min(10, self.rules - vm * 10)):
                y.append(f"    - {{name: p{p}, protocol: tcp, externalPort: {1024 + vm * 10 + p}, "
                         f"internalPort: {8000 + p}}}\n")
        with open(f"{self.work}/manifests/r{i}.yaml", "w") as f:
            f.write("".join(y))

    def stop(self):
        for s in self.sims:
            s.terminate()
        for s in self.sims:
            s.wait()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def devices(port):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/devices?ports=false",
                                 headers={"X-API-Key": VIEWER_KEY})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)["devices"]
    except OSError:
        return None


def run_scenario(build, routers, rules, workers, idle_s):
    work = tempfile.mkdtemp(prefix=f"bench-fleet-{routers}x{rules}-")
    fleet = Fleet(build, routers, rules, work)
    daemon = None
    try:
        log(f"== {routers} routers x {rules} rules: starting {routers} vyos-sim")
        fleet.start()
        with open(f"{work}/keys.yaml", "w") as f:
            f.write(f"keys:\n  - {{name: bench, role: viewer, key: {VIEWER_KEY}}}\n")
        port = free_port()
        t0 = time.monotonic()
        wrap = os.environ.get("NC_BENCH_WRAP", "").split()  # e.g. a heap profiler
        daemon = subprocess.Popen(
            wrap + [f"{build}/bin/netconverge", "run", "--manifests", f"{work}/manifests",
             "--store", f"{work}/netconverge.db", "--max-concurrent-devices", str(workers),
             "--listen", f"127.0.0.1:{port}", "--api-keys-file", f"{work}/keys.yaml",
             "--log-level", "warn"],
            stdout=open(f"{work}/daemon.log", "w"), stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: a wrapper's child is stopped too

        def converged():
            if daemon.poll() is not None:
                sys.exit(f"bench-fleet: the daemon exited ({work}/daemon.log)")
            d = devices(port)
            return d is not None and len(d) == routers and all(
                x.get("synced") and x.get("managedObjects") == rules for x in d)

        wait_for("convergence", converged, 3600, 0.1)
        converge_s = time.monotonic() - t0
        cpu_s = proc_cpu_s(daemon.pid)
        peak_kb = proc_status(daemon.pid, "VmHWM")
        rss_kb = proc_status(daemon.pid, "VmRSS")
        log(f"   converged in {converge_s:.2f} s, peak RSS {peak_kb / 1024:.1f} MiB, "
            f"CPU {cpu_s:.2f} s")
        idle = None
        if not idle_s:
            time.sleep(5)  # a measurement interval: the RSS a few seconds after converging
            rss_kb = proc_status(daemon.pid, "VmRSS")
        if idle_s:
            # Idle means steady: every router has had a quiet poll since it converged (the first
            # poll after an apply still parses and plans: the answer changed).
            wait_for("a quiet poll of every router",
                     lambda: all(x.get("quietPolls", 0) >= 1 for x in devices(port) or [{}]),
                     300, 0.5)
            threads0 = thread_cpu(daemon.pid)
            c0 = proc_cpu_s(daemon.pid)
            w0 = time.monotonic()
            time.sleep(idle_s)  # the measured interval itself, not a wait for a condition
            idle = (proc_cpu_s(daemon.pid) - c0) / (time.monotonic() - w0)
            rss_kb = proc_status(daemon.pid, "VmRSS")
            log(f"   idle: {100 * idle:.2f} % of a core over {idle_s} s")
            if os.environ.get("NC_BENCH_THREADS"):
                for name, cpu in sorted(thread_delta(threads0, thread_cpu(daemon.pid)).items(),
                                        key=lambda x: -x[1])[:8]:
                    log(f"     thread {name}: {cpu:.2f} s")
        return {"routers": routers, "rules": rules, "converge_s": converge_s, "cpu_s": cpu_s,
                "peak_kb": peak_kb, "rss_kb": rss_kb, "idle": idle}
    finally:
        if daemon and daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
        fleet.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    # A SIGTERM (timeout, Ctrl-C's cousin) still runs each scenario's cleanup: no stray daemon or
    # emulator is left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench-fleet: terminated"))
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--scenarios", default="1x10000,10x10000,100x500,1000x20")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--idle", default="1000x20")
    ap.add_argument("--idle-seconds", type=int, default=60)
    a = ap.parse_args()
    scenarios = [tuple(int(x) for x in s.split("x")) for s in a.scenarios.split(",")]
    rows = []
    single = {}  # rules -> one router's converge time
    for routers, rules in scenarios:
        if routers > 1 and rules not in single:
            single[rules] = run_scenario(a.build, 1, rules, a.workers, 0)["converge_s"]
        idle_s = a.idle_seconds if f"{routers}x{rules}" == a.idle else 0
        row = run_scenario(a.build, routers, rules, a.workers, idle_s)
        if routers == 1:
            single.setdefault(rules, row["converge_s"])
        rows.append(row)
    print("| routers x rules | converge s | ideal s (ceil(routers/workers) x one router) "
          "| peak RSS MiB | converged RSS MiB | controller CPU s | idle minute CPU |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        ideal = math.ceil(r["routers"] / a.workers) * single[r["rules"]]
        idle = f"{100 * r['idle']:.2f} % of a core" if r["idle"] is not None else ""
        print(f"| {r['routers']} x {r['rules']} | {r['converge_s']:.2f} | {ideal:.2f} "
              f"| {r['peak_kb'] / 1024:.1f} | {r['rss_kb'] / 1024:.1f} | {r['cpu_s']:.2f} "
              f"| {idle} |")


if __name__ == "__main__":
    main()

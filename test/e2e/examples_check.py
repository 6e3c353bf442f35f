#!/usr/bin/env python3
"""Checks docs/EXAMPLES.md against the real binaries: each numbered example's PortForward is
applied (`netconverge apply`) to a fresh vyos-sim, and the router's own rendering of its NAT rules
must be exactly the example's "On the router" lines; an example with a `console` block instead
must be refused by `netconverge validate` (exit 1) with that message.

Usage: examples_check.py EXAMPLES.md BIN_DIR WORK_DIR"""
import pathlib
import re
import subprocess
import sys
import time

doc, bin_dir, work = sys.argv[1], pathlib.Path(sys.argv[2]).resolve(), pathlib.Path(sys.argv[3])
text = open(doc).read()
sections = re.split(r"^## (?=\d+\. )", text, flags=re.M)[1:]
assert len(sections) >= 6, f"expected at least 6 examples, found {len(sections)}"
failures = 0
for sec in sections:
    title = sec.splitlines()[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", sec, re.S)
    manifest = next(b for k, b in blocks if k == "yaml")
    expected = next((b for k, b in blocks if k == "text"), None)
    refusal = next((b for k, b in blocks if k == "console"), None)
    assert (expected is None) != (refusal is None), f"{title}: needs a text or a console block"
    w = work / title.split(".")[0]
    (w / "m").mkdir(parents=True)
    sim = subprocess.Popen([str(bin_dir / "vyos-sim"), "--listen", "127.0.0.1:0", "--port-file",
                            str(w / "port"), "--cert-dir", str(w)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while not ((w / "port").exists() and (w / "port").read_text().strip()):
            assert time.time() < deadline, "vyos-sim did not start"
            time.sleep(0.05)
        port = (w / "port").read_text().strip()
        (w / "creds.yaml").write_text("apiKey: netconverge-demo-key\n")
        (w / "m" / "edge1.yaml").write_text(
            "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: edge1}\nspec:\n"
            f"  platform: vyos\n  address: 127.0.0.1:{port}\n  credentialsRef: {{file: ../creds.yaml}}\n"
            "  tls: {caFile: ../ca.pem}\n")
        (w / "m" / "ex.yaml").write_text(manifest)
        if refusal is not None:
            r = subprocess.run([str(bin_dir / "netconverge"), "validate", "--manifests", "m"],
                               cwd=w, capture_output=True, text=True)
            got = r.stdout + r.stderr
            ok = r.returncode == 1 and all(line in got.splitlines() for line in refusal.strip().splitlines())
            detail = f"exit {r.returncode}:\n{got}"
        else:
            r = subprocess.run([str(bin_dir / "netconverge"), "apply", "--manifests", "m", "--store",
                                "s.db", "--log-level", "warn"], cwd=w, capture_output=True, text=True)
            rules = subprocess.run(["curl", "-sS", "--cacert", str(w / "ca.pem"),
                                    f"https://127.0.0.1:{port}/_sim/config?format=commands"],
                                   capture_output=True, text=True).stdout
            got = sorted(l for l in rules.splitlines() if "nat destination" in l)
            ok = r.returncode == 0 and got == sorted(expected.strip().splitlines())
            detail = f"apply exit {r.returncode} {r.stdout}{r.stderr}\nthe router has:\n" + "\n".join(got)
    finally:
        sim.kill()
        sim.wait()
    print(("ok   - " if ok else "FAIL - ") + title)
    if not ok:
        print(detail)
        failures += 1
print(f"{len(sections) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)

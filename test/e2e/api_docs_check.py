#!/usr/bin/env python3
"""Runs every example of docs/api-reference.md, in order, and checks each answer's status line
against the `<!-- expect: NNN -->` comment above it; JSON bodies must parse, and the sync report
must have the seed API's exact shape. Usage: api_docs_check.py DOC REPO_ROOT [PORT]
(PORT replaces 8800 when given; without it the examples run verbatim)."""
import json, re, subprocess, sys

doc, root = sys.argv[1], sys.argv[2]
port = sys.argv[3] if len(sys.argv) > 3 else None
text = open(doc).read()
examples = re.findall(r"<!-- expect: (\d{3}) -->\n```sh\n(.*?)```", text, re.S)
blocks = len(re.findall(r"```sh\n", text))
passed = failed = 0

def bad(msg):
    global failed
    failed += 1
    print("  FAIL " + msg)

if len(examples) != blocks:
    bad(f"{blocks - len(examples)} sh block(s) without an expect comment")
for want, script in examples:
    if port:
        script = script.replace("127.0.0.1:8800", "127.0.0.1:" + port)
    first = next((l for l in script.splitlines() if "curl" in l), script.strip().splitlines()[0])
    r = subprocess.run(["bash", "-c", "set -o pipefail; " + script], cwd=root, capture_output=True, text=True, timeout=120)
    out = r.stdout
    m = re.match(r"HTTP/1\.1 (\d{3})", out)
    got = m.group(1) if m else None
    # `... | head`: once head has its lines it closes the pipe, and curl ends with a write error
    # (23) or SIGPIPE (141) depending on timing; the answer it printed is what counts.
    piped_to_head = re.search(r"\|\s*head\b", script) is not None
    if r.returncode != 0 and not (piped_to_head and r.returncode in (23, 141) and got):
        bad(f"{first[:100]}: exit {r.returncode}: {r.stderr.strip()[:200]}")
        continue
    if got != want:
        bad(f"{first[:100]}: status {got}, the doc says {want}\n{out[:400]}")
        continue
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    if "Content-Type: application/json" in head:
        try:
            doc_json = json.loads(body)
        except ValueError as e:
            bad(f"{first[:100]}: body is not JSON ({e})")
            continue
        if "sync-vyos-config" in script and want == "200":
            if set(doc_json) != {"status", "message", "report"} or \
               set(doc_json["report"]) != {"added", "deleted", "updated", "no_change"} or \
               doc_json["status"] != "success" or \
               doc_json["message"] != "VyOS configuration synchronized successfully.":
                bad(f"{first[:100]}: the sync report's shape differs from spec 6: {body[:300]}")
                continue
        if int(want) >= 400 and set(doc_json) != {"error"}:
            bad(f"{first[:100]}: an error without the {{\"error\": ...}} shape: {body[:200]}")
            continue
    passed += 1
    print(f"  ok   {want} {first[:110]}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)

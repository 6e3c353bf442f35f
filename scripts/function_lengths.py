#!/usr/bin/env python3
"""Prints the longest functions of the C++ sources (default: controller/, adapters/ and transport/).

usage: function_lengths.py [--max N] [--allow FILE] [--top K] [DIR...]
A function's length is its lines from the start of its signature to its closing brace, comments
and blank lines included (what a reader scrolls through). Lambdas count toward the function
that holds them. Exits 1 when a function is longer than --max (if given), except the functions FILE lists
("name lines" per line: a ratchet for the ones not yet split - such a function fails when it
grows past its recorded length, and the entry must go once the function is short).
The parser is a brace matcher on the text with comments, strings and preprocessor lines blanked:
a `{` at namespace or class scope whose head has a parameter list opens a function body.
"""
import argparse
import pathlib
import re
import sys


def blank(text):
    """Comments, string and char literals and preprocessor lines become spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == '_')):
            d = text.find("(", i + 2)
            delim = ")" + text[i + 2:d] + '"'
            j = text.find(delim, d)
            j = n if j < 0 else j + len(delim)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator 1'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (min(j + 1, n) - i))
            i = j + 1
        elif c == "#" and (i == 0 or text.rfind("\n", 0, i) >= text.rfind("\n", 0, i) and text[text.rfind("\n", 0, i) + 1:i].strip() == ""):
            j = i
            while True:  # continued lines
                k = text.find("\n", j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] != "\\":
                    break
                j = k + 1
            out.append(re.sub(r"[^\n]", " ", text[i:k]))
            i = k
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    text = blank(path.read_text())
    stack = []  # (kind, start_line, name)
    head_start = 0
    line = 1
    results = []
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        if c in ";":
            if not stack or stack[-1][0] in ("namespace", "class"):
                head_start = i + 1
        elif c == "{":
            kind = "block"
            name = ""
            if not stack or stack[-1][0] in ("namespace", "class"):
                head = text[head_start:i]
                words = head.split()
                if re.search(r"\bnamespace\b", head) or re.match(r'\s*extern\s*$', head):
                    kind = "namespace"
                elif re.search(r"\b(class|struct|union|enum)\b", head.split("(")[0]) and not re.search(r"\)\s*(const|noexcept|override|final|\s)*$", head):
                    kind = "class"
                elif "(" in head and not re.search(r"=\s*$", head.strip()) and not head.strip().endswith("="):
                    kind = "function"
                    m = re.search(r"([~\w:<>]+)\s*\(", head)
                    name = m.group(1) if m else "?"
                    first = len(head) - len(head.lstrip())
                    start_line = text.count("\n", 0, head_start + first) + 1
                    stack.append((kind, start_line, name))
                    continue
            stack.append((kind, line, name))
        elif c == "}":
            if stack:
                kind, start, name = stack.pop()
                if kind == "function":
                    results.append((line - start + 1, f"{path}:{start}", name))
            if not stack or stack[-1][0] in ("namespace", "class"):
                head_start = i + 1
        elif c == ":" and stack and stack[-1][0] == "class" and re.search(r"\b(public|private|protected)\s*$", text[head_start:i]):
            head_start = i + 1
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max", type=int)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--allow")
    ap.add_argument("dirs", nargs="*", default=["controller", "adapters", "transport"])
    a = ap.parse_args()
    allf = []
    for d in a.dirs:
        for p in sorted(pathlib.Path(d).rglob("*")):
            if p.suffix in (".cpp", ".hpp"):
                allf += functions(p)
    allf.sort(key=lambda r: -r[0])
    for n, where, name in allf[:a.top]:
        print(f"{n:5d}  {where}  {name}")
    allowed = {}
    if a.allow:
        for line in pathlib.Path(a.allow).read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, n = line.split()
                allowed[name] = int(n)
    failed = False
    if a.max:
        seen = set()
        for n, where, name in allf:
            if n <= a.max:
                continue
            seen.add(name)
            if name not in allowed:
                print(f"{where} {name}: {n} lines (more than {a.max})", file=sys.stderr)
                failed = True
            elif n > allowed[name]:
                print(f"{where} {name}: {n} lines, grew past its recorded {allowed[name]}", file=sys.stderr)
                failed = True
        for name in sorted(set(allowed) - seen):
            print(f"{name} is {a.max} lines or shorter now: remove it from {a.allow}", file=sys.stderr)
            failed = True
        over = sum(1 for r in allf if r[0] > a.max)
        print(f"{len(allf)} functions; {over} longer than {a.max} lines, {len(allowed)} of them on the list to split")
    if failed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

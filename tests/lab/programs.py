#!/usr/bin/python3
"""The package check of tests/integration/programs.sh (read its header):
collects the programs (strace of the demo, lab_require and tool-loop
declarations, a scan of the shell scripts), resolves each to its Debian
package and accepts it when the package is on the list, Essential or
required, or a dependency of a listed package; then the self-check
without iputils-ping.

  programs.py LIST SRC WORK NFFLOWD_BUILD DEMO_RC SHELL_WORDS SCRIPT...

SHELL_WORDS: bash's builtins and keywords, space-separated; DEMO_RC: the
demo's exit status under strace (its traces are in WORK/trace).
"""
import os, re, shutil, subprocess, sys
from collections import deque

list_path, src, work, nfbuild, demo_rc, shell_words = sys.argv[1:7]
scripts = sys.argv[7:]
BUILTINS = set(shell_words.split())
OWN = [os.path.realpath(d) for d in (src, work, nfbuild)]


def rel(path):
    return os.path.relpath(path, src) if path.startswith(src + "/") else path


def read_list(path):
    words = []
    for line in open(path):
        words += line.split("#", 1)[0].split()
    return words


# ------------------------------------------------------------------ trace

traced = {}     # executed path -> "trace"
failed = set()  # basenames of executions that failed
for name in sorted(os.listdir(os.path.join(work, "trace"))):
    for line in open(os.path.join(work, "trace", name), errors="replace"):
        m = re.match(r'execve\("((?:[^"\\]|\\.)*)", .*\) = (-?\d+)', line)
        if not m:
            continue
        path = m.group(1).encode().decode("unicode_escape")
        if m.group(2) == "0":
            traced.setdefault(path, "trace")
        else:
            failed.add(os.path.basename(path))
failed -= {os.path.basename(p) for p in traced}


# ------------------------------------------------------------------ scripts

class Scanner:
    """The command names of a bash script, with their line numbers.

    Quotes, ${...}, $((...)), [[...]], case patterns, here-documents,
    comments and redirections are skipped; $(...), `...`, <(...) and
    subshells are scanned as commands. Wrappers (timeout, env, ip netns
    exec, the lab's lab_ns and lab_bg, ...) count themselves and the
    command they run."""

    # wrapper -> options that take a separate argument
    WRAP = {"timeout": {"-s", "--signal", "-k", "--kill-after"}, "env": {"-u"},
            "nice": {"-n"}, "nohup": set(), "exec": {"-a"}, "command": set(),
            "unshare": {"--propagation", "--setgroups"}, "setpriv": set(),
            "xargs": {"-I", "-n", "-P", "-d", "-a", "-s", "-L", "-E"},
            "strace": {"-e", "-o", "-s", "-p", "-u"}, "valgrind": set(),
            "stdbuf": set(), "setsid": set(), "chrt": set(), "taskset": set()}
    # functions of tests/lab and tests/integration that run a command:
    # name -> the number of their own arguments before it
    FUNC_WRAP = {"lab_ns": 1, "lab_bg": 2, "check": 1}
    KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while",
                "until", "for", "select", "case", "esac", "in", "!", "time",
                "function", "coproc", "{", "}"}

    def __init__(self, text):
        self.s = text
        self.i = 0
        self.line = 1
        self.heredocs = []
        self.found = []

    def peek(self, k=0):
        j = self.i + k
        return self.s[j] if j < len(self.s) else "\0"

    def adv(self, n=1):
        for _ in range(n):
            if self.i < len(self.s):
                if self.s[self.i] == "\n":
                    self.line += 1
                self.i += 1

    def newline(self):
        self.adv()
        for delim, strip in self.heredocs:     # here-document bodies
            while self.i < len(self.s):
                end = self.s.find("\n", self.i)
                end = len(self.s) if end < 0 else end
                body = self.s[self.i:end]
                self.adv(end - self.i + 1)
                if (body.lstrip("\t") if strip else body) == delim:
                    break
        self.heredocs = []

    def skip_single(self):
        self.adv()
        while self.i < len(self.s) and self.peek() != "'":
            self.adv()
        self.adv()

    def skip_double(self):
        self.adv()
        while self.i < len(self.s) and self.peek() != '"':
            if self.peek() == "\\":
                self.adv(2)
            elif self.peek() == "$":
                self.dollar()
            elif self.peek() == "`":
                self.adv()
                self.commands("`")
                self.adv()
            else:
                self.adv()
        self.adv()

    def skip_balanced(self, open_, close):
        depth = 0
        while self.i < len(self.s):
            c = self.peek()
            if c == "\\":
                self.adv(2)
                continue
            if c == "'":
                self.skip_single()
                continue
            if c == '"':
                self.skip_double()
                continue
            if c == open_:
                depth += 1
            elif c == close:
                depth -= 1
                if depth == 0:
                    self.adv()
                    return
            self.adv()

    def dollar(self):
        """At a '$': skip an expansion, scan a command substitution."""
        nxt, nxt2 = self.peek(1), self.peek(2)
        if nxt == "(" and nxt2 == "(":
            self.adv(1)
            self.skip_balanced("(", ")")
        elif nxt == "(":
            self.adv(2)
            self.commands(")")
            self.adv()
        elif nxt == "{":
            self.adv(1)
            self.skip_balanced("{", "}")
        elif nxt == "'":
            self.adv(2)
            while self.i < len(self.s) and self.peek() != "'":
                self.adv(2 if self.peek() == "\\" else 1)
            self.adv()
        else:
            self.adv()

    def word(self):
        """Read one word; returns (text, literal) where literal says the
        word is plain characters (no quotes or expansions)."""
        start, literal = self.i, True
        while self.i < len(self.s):
            c = self.peek()
            if c in " \t\n;&|()<>`":
                break
            if c == "\\":
                literal = False
                self.adv(2)
            elif c == "'":
                literal = False
                self.skip_single()
            elif c == '"':
                literal = False
                self.skip_double()
            elif c == "$":
                literal = False
                self.dollar()
            else:
                self.adv()
        return self.s[start:self.i], literal

    def commands(self, end):
        """Scan commands until the unquoted character `end` (or EOF)."""
        words = []          # words of the current simple command
        lineno = self.line
        in_case = 0         # inside case ... esac, at a pattern when > 0
        pattern = False
        while self.i < len(self.s):
            c = self.peek()
            if c == end and end:
                break
            if c == "\\" and self.peek(1) == "\n":
                self.adv(2)
                continue
            if c in " \t":
                self.adv()
                continue
            if c == "#" and (self.i == 0 or self.s[self.i - 1] in " \t\n;&|()"):
                while self.i < len(self.s) and self.peek() != "\n":
                    self.adv()
                continue
            if c == "\n" or c in ";&|":
                if c == ";" and self.peek(1) in ";&" and in_case:
                    pattern = True
                if c == "\n":
                    self.newline()
                else:
                    self.adv()
                self.command(words, lineno)
                words = []
                continue
            if pattern:                         # case PATTERN)
                if c == ")":
                    pattern = False
                    self.adv()
                    words = []
                    continue
                w, _ = self.word()
                if w == "esac":
                    in_case -= 1
                    pattern = False
                if not w:
                    self.adv()
                continue
            if c == "(":
                if self.peek(1) == "(":          # (( arithmetic ))
                    self.skip_balanced("(", ")")
                    continue
                if words and words[-1][0].endswith("="):   # a=(array)
                    self.skip_balanced("(", ")")
                    continue
                self.adv()
                if words:                       # name() { ...
                    words = []
                    continue
                self.commands(")")              # ( subshell )
                self.adv()
                continue
            if c == ")":
                self.adv()
                continue
            if c in "<>":
                if c == "<" and self.peek(1) == "(":
                    self.adv(2)
                    self.commands(")")
                    self.adv()
                    continue
                if c == "<" and self.peek(1) == "<" and self.peek(2) != "<":
                    self.adv(2)
                    strip = self.peek() == "-"
                    if strip:
                        self.adv()
                    while self.peek() in " \t":
                        self.adv()
                    w, _ = self.word()
                    self.heredocs.append((w.strip("'\""), strip))
                    continue
                while self.peek() in "<>&|":
                    self.adv()
                while self.peek() in " \t":
                    self.adv()
                self.word()                     # the target
                continue
            if c == "`":
                self.adv()
                self.commands("`")
                self.adv()
                continue
            if not words:
                lineno = self.line
            w, literal = self.word()
            if not w:
                self.adv()
                continue
            if w.isdigit() and self.peek() in "<>":    # 2>&1, 9>FILE
                continue
            if not words and w == "[[":
                while self.i < len(self.s):
                    w2, _ = self.word()
                    if w2 == "]]":
                        break
                    if not w2:
                        self.adv()
                continue
            if not words and w == "case":
                in_case += 1
                while self.i < len(self.s):     # up to "in"
                    while self.peek() in " \t\n":
                        self.adv()
                    w2, _ = self.word()
                    if w2 == "in" or not w2:
                        break
                pattern = True
                continue
            if not words and w == "esac":
                in_case -= 1
                continue
            words.append((w, literal))
        self.command(words, lineno)

    def command(self, words, lineno):
        text = [w for w, _ in words]
        i = 0
        while i < len(words):
            w, literal = words[i]
            if w in ("for", "select"):
                return
            if w in self.KEYWORDS or re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[.*\])?\+?=", w):
                m = re.match(r"^(?:CC|CXX)=([A-Za-z0-9][A-Za-z0-9._+-]*)$", w)
                if m and literal:               # CC=clang meson setup ...
                    self.found.append((m.group(1), lineno))
                i += 1
                continue
            if not literal or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$", w):
                return
            if w in self.FUNC_WRAP:             # the lab's own wrappers
                i += 1 + self.FUNC_WRAP[w]
                continue
            self.found.append((w, lineno))
            if w == "ip" and text[i + 1:i + 3] == ["netns", "exec"]:
                i += 4
                continue
            if w in self.WRAP:
                i += 1
                while i < len(words) and text[i].startswith("-"):
                    i += 2 if text[i] in self.WRAP[w] else 1
                if w == "timeout":
                    i += 1
                continue
            return


declared = {}   # name -> "decl file:line"
scanned = {}    # name -> "scan file:line"
functions = set()
for path in scripts:
    text = open(path, errors="replace").read()
    for n, line in enumerate(text.split("\n"), 1):
        m = re.match(r"^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)", line)
        if m:
            functions.add(m.group(1))
        code = line.split(" #", 1)[0]
        m = re.match(r"^\s*lab_require((?:\s+[A-Za-z0-9._+-]+)+)\s*$", code)
        if not m:
            m = re.match(r"^\s*for tool in((?:\s+[A-Za-z0-9._+-]+)+)\s*;\s*do\b", code)
        if m:
            for name in m.group(1).split():
                declared.setdefault(name, "decl %s:%d" % (rel(path), n))
    sc = Scanner(text)
    sc.commands("")
    for name, n in sc.found:
        scanned.setdefault(name, "scan %s:%d" % (rel(path), n))

problems = []   # (what, why)
notes = []
programs = dict(traced)             # path -> source
for name, origin in list(declared.items()) + list(scanned.items()):
    if name in BUILTINS or name in functions:
        continue
    path = shutil.which(name)
    if path is None:
        if origin.startswith("decl"):
            problems.append((name, "not found on PATH (%s)" % origin))
        else:
            notes.append(name)
        continue
    programs.setdefault(path, origin)

# Interpreters of the scripts executed directly.
for path in list(programs):
    real = os.path.realpath(path)
    try:
        with open(real, "rb") as f:
            head = f.read(256).split(b"\n", 1)[0]
    except OSError:
        continue
    if not head.startswith(b"#!"):
        continue
    argv = head[2:].decode(errors="replace").split()
    if not argv:
        continue
    programs.setdefault(argv[0], "interpreter of " + rel(path))
    if os.path.basename(argv[0]) == "env":
        rest = [a for a in argv[1:] if not a.startswith("-")]
        if rest:
            p = shutil.which(rest[0])
            if p:
                programs.setdefault(p, "interpreter of " + rel(path))
            else:
                problems.append((rest[0], "interpreter of %s not found" % rel(path)))


# One entry per file: /bin/sh and /usr/bin/sh are the same program.
by_real = {}
for p in list(programs):
    first = by_real.setdefault(os.path.realpath(p), p)
    if first != p:
        del programs[p]


def own(path):
    real = os.path.realpath(path)
    return any(real == d or real.startswith(d + "/") for d in OWN)


checked = {p: o for p, o in programs.items() if not own(p)}
own_count = len(programs) - len(checked)
for p in [p for p in checked if not os.path.isabs(p)]:
    problems.append((p, "executed by a relative path, cannot tell its package"))
    del checked[p]


# ------------------------------------------------------------------ dpkg -S

def variants(path):
    out = [path]
    for a, b in (("/usr/bin/", "/bin/"), ("/usr/sbin/", "/sbin/"), ("/usr/lib/", "/lib/"),
                 ("/usr/lib64/", "/lib64/")):
        if path.startswith(a):
            out.append(b + path[len(a):])
        elif path.startswith(b):
            out.append(a + path[len(b):])
    return out


cands = {}
for p in checked:
    seen = []
    for q in variants(p) + variants(os.path.realpath(p)):
        if q not in seen:
            seen.append(q)
    cands[p] = seen
allc = sorted({q for qs in cands.values() for q in qs})
owner_of = {}
if allc:
    r = subprocess.run(["dpkg", "-S"] + allc, capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line.startswith("diversion ") or ": " not in line:
            continue
        pkgs, path = line.split(": ", 1)
        if path in allc:
            owner_of[path] = [x.strip().split(":")[0] for x in pkgs.split(",")]


# ------------------------------------------------------------------ packages

fmt = "${Package}\t${db:Status-Abbrev}\t${Essential}\t${Priority}\t${Pre-Depends}\t${Depends}\t${Provides}\n"
out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True, check=True).stdout
installed = {}
providers = {}
for line in out.splitlines():
    f = line.split("\t")
    if len(f) != 7 or not f[1].startswith("ii"):
        continue
    name = f[0]
    info = installed.setdefault(name, {"essential": False, "priority": "", "deps": []})
    info["essential"] |= f[2] == "yes"
    info["priority"] = info["priority"] or f[3]
    info["deps"] += [g for g in (f[4] + "," + f[5]).split(",") if g.strip()]
    for v in f[6].split(","):
        v = v.strip().split(" ")[0].split(":")[0]
        if v:
            providers.setdefault(v, set()).add(name)


def satisfiers(group):
    """The installed packages that satisfy a dependency "a (>= 1) | b":
    the first alternative that is installed or provided."""
    for alt in group.split("|"):
        alt = alt.strip().split(" ")[0].split(":")[0]
        if alt in installed:
            return [alt]
        if alt in providers:
            return sorted(providers[alt])
    return []


def closure(listed):
    parent = {p: None for p in listed if p in installed}
    todo = deque(parent)
    while todo:
        p = todo.popleft()
        for group in installed[p]["deps"]:
            for q in satisfiers(group):
                if q not in parent:
                    parent[q] = p
                    todo.append(q)
    return parent


def reason(pkg, listed, parent):
    if pkg in listed:
        return "listed"
    info = installed.get(pkg)
    if info and info["essential"]:
        return "Essential: yes"
    if info and info["priority"] == "required":
        return "Priority: required"
    if pkg in parent:
        chain = [pkg]
        while parent[chain[-1]] is not None:
            chain.append(parent[chain[-1]])
        return "depends of listed " + " > ".join(reversed(chain))
    return None


def judge(listed):
    """(rows, refused) for the list `listed`."""
    parent = closure(listed)
    rows, refused = [], []
    for p in sorted(checked, key=lambda p: (os.path.basename(p), p)):
        owner = None
        for q in cands[p]:
            if q in owner_of:
                owner = owner_of[q]
                break
        name = os.path.basename(p)
        real = os.path.realpath(p)
        shown = p if real == p else "%s -> %s" % (p, real)
        if owner is None:
            rows.append((name, shown, "-", "REFUSED: no package owns it", checked[p]))
            refused.append("%s (%s: no package owns it; %s)" % (name, shown, checked[p]))
            continue
        why = None
        for pkg in owner:
            why = reason(pkg, listed, parent)
            if why:
                break
        pkg = pkg if why else ",".join(owner)
        if why is None:
            rows.append((name, shown, pkg, "REFUSED", checked[p]))
            refused.append("%s (%s, package %s: not listed, not a dependency of a listed "
                           "package, not Essential or required; %s)" % (name, shown, pkg, checked[p]))
        else:
            rows.append((name, shown, pkg, why, checked[p]))
    return rows, refused


listed = set(read_list(list_path))
unknown = sorted(p for p in listed if p not in installed)
rows, refused = judge(listed)
print("== %d programs (%d from the trace of the demo), %d of the project's own left out"
      % (len(rows), sum(1 for p in checked if checked[p] == "trace"), own_count))
w1 = max([len(r[0]) for r in rows] + [4])
w3 = max([len(r[2]) for r in rows] + [4])
for name, shown, pkg, why, origin in rows:
    print("%s  %-*s  %-*s  %s  [%s: %s]" % ("ok  " if not why.startswith("REFUSED") else "FAIL",
                                             w1, name, w3, pkg, why, origin, shown))
if notes:
    print("(scanned words not on PATH, taken for functions or text: %s)" % " ".join(sorted(notes)))

fails = 0
if failed and demo_rc != "0":
    problems += [(n, "the demo tried to execute it and failed") for n in sorted(failed)]
elif failed:
    print("(the demo looked for these and went on without them: %s)" % " ".join(sorted(failed)))
if unknown:
    problems += [(p, "listed in %s but not installed" % list_path) for p in unknown]
if refused or problems:
    print("FAIL: %d program(s) not provided by %s:" % (len(refused) + len(problems), list_path))
    for r in refused:
        print("  " + r)
    for what, why in problems:
        print("  %s: %s" % (what, why))
    fails += 1
else:
    print("ok: every program the demo, the lab and the tests run comes from %s" % list_path)

# Self-check: the same judgement without iputils-ping must refuse ping.
ping = [p for p in checked if os.path.basename(p) == "ping"]
if "iputils-ping" in listed and ping:
    _, refused2 = judge(listed - {"iputils-ping"})
    if any(r.startswith("ping ") for r in refused2):
        print("ok: self-check: without iputils-ping on the list, ping is refused")
    else:
        print("FAIL: self-check: without iputils-ping on the list, ping is still accepted")
        fails += 1
else:
    print("(self-check not run: the list has no iputils-ping or nothing ran ping)")
if demo_rc != "0":
    fails += 1
sys.exit(1 if fails else 0)

#!/usr/bin/env python3
"""Runs the shell commands the docs give, in the order they give them, so a
doc that stops working fails CI (a step of .ci/run; also `python3
.ci/doc-commands.py` by hand).

Every ```sh block of DOCS runs, page by page, in a scratch clone of this
tree (uncommitted work included: it is what is checked), since the docs
change the tree (`cargo xtask new-service`). The build cache is the
checkout's (CARGO_TARGET_DIR), and so are buf (node_modules) and the Python
tools (.venv). Each block is one bash script under `set -eo pipefail`, so
its first failing command fails it, and the runner names that command's
line in the doc.

What the docs cannot run here is visible in them:
  - lines that run docker, kubectl, kind or minikube are skipped (no engine
    or cluster here), and listed as skipped;
  - an HTML comment right above a block says how else to run it:
      <!-- doc-commands: background, ports 50041 9041 -->
        a server: started in its own process group, waited for until every
        port accepts, and stopped (SIGINT, as Ctrl+C) at the end of the page;
      <!-- doc-commands: fails -->      the block must exit non-zero;
      <!-- doc-commands: skip, REASON -->
  - grpcurl has no package here: unless it is installed, a `grpcurl` shell
    function makes the same call with `buf curl` (server reflection, plain
    HTTP/2), for the forms the docs use.

DOC_COMMANDS_KEEP=1 keeps the scratch clone and the servers' logs;
`--list` prints the blocks it would run, and runs nothing.
"""

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DOCS = ["README.md", "docs/writing-a-service.md", "docs/deploy.md", "deploy/k8s/README.md"]
SKIPPED_COMMANDS = {"docker", "kubectl", "kind", "minikube"}
LANGUAGES = {"sh", "bash", "shell"}
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w-]*)")
DIRECTIVE = re.compile(r"^\s*<!--\s*doc-commands:\s*(.*?)\s*-->\s*$")
# A server's first start includes its build.
PORT_WAIT_S = 900
BLOCK_TIMEOUT_S = 1800
STOP_WAIT_S = 30

# Sourced by every block's bash (BASH_ENV): fail on the first failing
# command and record its line, and stand in for grpcurl where it is missing.
PRELUDE = r"""
set -eo pipefail
trap 'echo "$LINENO" >"$DOC_COMMANDS_FAILED_AT"' ERR
if ! command -v grpcurl >/dev/null; then
  # grpcurl -plaintext [-d JSON] HOST:PORT (list | SERVICE/METHOD), with buf.
  grpcurl() {
    local data=() rest=()
    while [ $# -gt 0 ]; do
      case $1 in
        -plaintext) shift ;;
        -d) data=(-d "$2"); shift 2 ;;
        -*) echo "doc-commands: the grpcurl stand-in knows -plaintext and -d, not $1" >&2; return 2 ;;
        *) rest+=("$1"); shift ;;
      esac
    done
    local curl=(npx --no-install buf curl --protocol grpc --http2-prior-knowledge)
    echo "(grpcurl, through buf curl)" >&2
    if [ "${rest[1]}" = list ]; then
      "${curl[@]}" --list-services "http://${rest[0]}" || return $?
    else
      "${curl[@]}" "${data[@]}" "http://${rest[0]}/${rest[1]}" || return $?
    fi
  }
fi
"""


@dataclass
class Block:
    doc: str
    line: int  # the first line of code, 1-based
    lines: list
    directive: str  # "" when none


def blocks_of(doc, text):
    """The shell blocks of one page, with the directive above each."""
    blocks, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, language = match.groups()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if language in LANGUAGES:
            above = next((line for line in reversed(lines[:i]) if line.strip()), "")
            directive = DIRECTIVE.match(above)
            code = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[i + 1:end]]
            blocks.append(Block(doc, i + 2, code, directive.group(1) if directive else ""))
        i = end + 1
    return blocks


def without_skipped_commands(block):
    """The block's lines, with every command that needs Docker or a cluster
    replaced by `:` (so line numbers stay), and what was skipped."""
    lines, skipped = list(block.lines), []
    i = 0
    while i < len(lines):
        end = i
        while lines[end].rstrip().endswith("\\") and end + 1 < len(lines):
            end += 1
        words = lines[i].split()
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words = words[1:]
        if words and words[0] in SKIPPED_COMMANDS:
            skipped.append(f"{block.doc}:{block.line + i}: {lines[i].strip()}")
            for j in range(i, end + 1):
                lines[j] = ":"
        i = end + 1
    return lines, skipped


class Runner:
    def __init__(self, scratch, env, work):
        self.scratch, self.env, self.work = scratch, env, work
        self.servers = []  # (block, process, log path)
        self.count = 0

    def script(self, lines):
        self.count += 1
        path = self.work / f"block-{self.count}.sh"
        path.write_text("\n".join(lines) + "\n")
        return path

    def run(self, block):
        where = f"{block.doc}:{block.line}"
        kind, _, detail = block.directive.partition(",")
        kind, detail = kind.strip(), detail.strip()
        if kind == "skip":
            print(f"\n--- {where}: skipped ({detail})")
            return
        lines, skipped = without_skipped_commands(block)
        print(f"\n--- {where}" + (f" ({block.directive})" if block.directive else ""))
        for number, line in enumerate(block.lines, block.line):
            print(f"{number:5} | {line}")
        for line in skipped:
            print(f"skipped (needs Docker or a cluster): {line}")
        script = self.script(lines)
        if kind == "background":
            self.start_server(block, script, [int(p) for p in re.findall(r"\d+", detail)])
        elif kind in ("", "fails"):
            failed_at = self.work / "failed-at"
            failed_at.unlink(missing_ok=True)
            env = dict(self.env, DOC_COMMANDS_FAILED_AT=str(failed_at))
            code = subprocess.run(["bash", str(script)], cwd=self.scratch, env=env, timeout=BLOCK_TIMEOUT_S).returncode
            if kind == "fails":
                if code == 0:
                    raise Failed(f"{where}: the doc says this fails, and it exited 0")
            elif code != 0:
                line = block.line + int(failed_at.read_text()) - 1 if failed_at.exists() else block.line
                text = block.lines[line - block.line].strip() if line - block.line < len(block.lines) else ""
                raise Failed(f"{block.doc}:{line}: exit {code}: {text}")
        else:
            raise Failed(f"{where}: unknown directive {block.directive!r}")

    def start_server(self, block, script, ports):
        where = f"{block.doc}:{block.line}"
        if not ports:
            raise Failed(f"{where}: a background block names the ports to wait for")
        for port in ports:
            if accepts(port):
                raise Failed(f"{where}: port {port} is taken before the block starts")
        log = self.work / f"server-{self.count}.log"
        with open(log, "w") as out:
            process = subprocess.Popen(
                ["bash", str(script)], cwd=self.scratch, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.servers.append((block, process, log))
        started = time.monotonic()
        while not all(accepts(port) for port in ports):
            if process.poll() is not None:
                raise Failed(f"{where}: exited ({process.returncode}) before ports {ports} accepted")
            if time.monotonic() - started > PORT_WAIT_S:
                raise Failed(f"{where}: ports {ports} not accepting after {PORT_WAIT_S} s")
            time.sleep(0.2)
        print(f"serving on {ports} after {time.monotonic() - started:.1f} s (log: {log})")

    def show_server_logs(self):
        for block, _, log in self.servers:
            print(f"\n--- the last lines of {block.doc}:{block.line}'s output")
            print("\n".join(log.read_text(errors="replace").splitlines()[-20:]))

    def stop_servers(self):
        """SIGINT to each server's process group, as Ctrl+C; SIGKILL after
        STOP_WAIT_S."""
        for _, process, _ in self.servers:
            signal_group(process.pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_WAIT_S
        for block, process, _ in self.servers:
            while group_alive(process.pid) and time.monotonic() < deadline:
                process.poll()
                time.sleep(0.1)
            if group_alive(process.pid):
                print(f"{block.doc}:{block.line} still running after {STOP_WAIT_S} s: SIGKILL")
                signal_group(process.pid, signal.SIGKILL)
            process.wait()
        self.servers = []


class Failed(Exception):
    pass


def accepts(port):
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def signal_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def scratch_clone(src, scratch):
    """A clone of `src` with its uncommitted and untracked work, as
    .ci/new-service-check makes one."""
    subprocess.run(["git", "clone", "--quiet", str(src), str(scratch)], check=True)
    diff = subprocess.run(["git", "diff", "--binary", "HEAD"], cwd=src, check=True, capture_output=True).stdout
    subprocess.run(["git", "apply", "--allow-empty"], cwd=scratch, input=diff, check=True)
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "-z"], cwd=src, check=True, capture_output=True
    ).stdout
    for name in filter(None, untracked.decode().split("\0")):
        (scratch / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / name, scratch / name)
    for shared in ("node_modules", ".venv"):
        if (src / shared).exists():
            (scratch / shared).symlink_to(src / shared)


def target_dir(src):
    if os.environ.get("CARGO_TARGET_DIR"):
        return os.environ["CARGO_TARGET_DIR"]
    metadata = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1"], cwd=src, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(metadata)["target_directory"]


def main():
    # Our lines and the blocks' output interleave in the order they happen.
    sys.stdout.reconfigure(line_buffering=True)
    src = Path(__file__).resolve().parent.parent
    if sys.argv[1:] == ["--list"]:
        for doc in DOCS:
            for block in blocks_of(doc, (src / doc).read_text()):
                print(f"{block.doc}:{block.line} [{block.directive}] {block.lines[0] if block.lines else ''}")
        return 0
    work = Path(tempfile.mkdtemp(prefix="doc-commands-"))
    scratch = work / "repo"
    env = dict(os.environ, CARGO_TARGET_DIR=target_dir(src), CARGO_TERM_COLOR="never")
    prelude = work / "prelude.sh"
    prelude.write_text(PRELUDE)
    env["BASH_ENV"] = str(prelude)
    scratch_clone(src, scratch)
    runner = Runner(scratch, env, work)
    # Stop the servers on Ctrl+C or SIGTERM too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    try:
        for doc in DOCS:
            print(f"\n=== {doc}")
            try:
                for block in blocks_of(doc, (scratch / doc).read_text()):
                    runner.run(block)
            except (Failed, subprocess.TimeoutExpired):
                runner.show_server_logs()
                raise
            finally:
                runner.stop_servers()
    except Failed as failure:
        print(f"\ndoc-commands: FAILED at {failure}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as timeout:
        print(f"\ndoc-commands: FAILED: a block ran past {timeout.timeout} s", file=sys.stderr)
        return 1
    finally:
        if os.environ.get("DOC_COMMANDS_KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\ndoc-commands: every command of {', '.join(DOCS)} ran, in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

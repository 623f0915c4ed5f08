"""Corpus benchmark: costbreaker against cfn-lint on the same files, several runs.

Both run as a user runs them, one process each, start-up included, on the CloudFormation
files of ../shared/corpus/aws-cloudformation-templates. Prints the wall times (best and
median of the repetitions) and the ratio. Usage:

    python bench/bench_corpus.py [--repeat 3] [--corpus PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus" / "aws-cloudformation-templates"


def tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        sys.exit(f"{name} is not installed (pip install '.[test]')")
    return found


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        sys.exit(f"{corpus}: corpus not found (it lives in ../shared/)")
    files = sorted(
        p.relative_to(corpus).as_posix()
        for p in corpus.rglob("*")
        if p.is_file() and p.suffix in (".yaml", ".yml", ".json", ".template")
    )
    ours = [tool("costbreaker"), "scan", *files, "--format", "json", "-o", os.devnull]
    theirs = [tool("cfn-lint"), "--format", "parseable", "--", *files]
    subprocess.run(ours, cwd=corpus, capture_output=True)  # warm the file cache
    cb_times, lint_times = [], []
    for _ in range(args.repeat):
        cb_times.append(timed(ours, corpus))
        lint_times.append(timed(theirs, corpus))
    cb_best, lint_best = min(cb_times), min(lint_times)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"files: {len(files)} from {corpus}")
    print(
        f"costbreaker scan: best {cb_best:.3f} s, median {statistics.median(cb_times):.3f} s"
        f" ({', '.join(f'{t:.3f}' for t in cb_times)})"
    )
    print(
        f"cfn-lint:         best {lint_best:.3f} s, median {statistics.median(lint_times):.3f} s"
        f" ({', '.join(f'{t:.3f}' for t in lint_times)})"
    )
    print(f"ratio (cfn-lint / costbreaker, best of each): {lint_best / cb_best:.1f}x")
    print(f"ratio (medians): {statistics.median(lint_times) / statistics.median(cb_times):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

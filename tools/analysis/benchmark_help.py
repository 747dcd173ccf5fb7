"""Time ``--help`` of every command-line tool (tools/, tools/analysis, tools/deployment, tools/misc, demo/,
data_tools/): each answers before importing torch, so this should be a fraction of a second per tool.

    python tools/analysis/benchmark_help.py [--repeat 3] [--python python3]

Prints one row per tool (best of ``--repeat`` runs, wall seconds, exit status) and the interpreter's own start-up
time for reference; exits 1 when a tool's ``--help`` fails.
"""
from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TOOL_GLOBS = ('tools/*.py', 'tools/analysis/*.py', 'tools/deployment/*.py', 'tools/misc/*.py', 'demo/*.py',
              'data_tools/*.py', 'data_tools/*/*.py')


def tool_paths(repo: str = REPO) -> list[str]:
    """Repository-relative paths of the scripts that run as tools (they have a ``__main__`` block)."""
    paths = []
    for pattern in TOOL_GLOBS:
        for path in sorted(glob.glob(os.path.join(repo, pattern))):
            with open(path, encoding='utf-8') as f:
                if "if __name__ == '__main__':" in f.read():
                    paths.append(os.path.relpath(path, repo))
    return paths


def time_command(cmd: list[str], repeat: int) -> tuple[float, int]:
    best, status = float('inf'), 0
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best, status = min(best, time.perf_counter() - start), status or proc.returncode
    return best, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='Time --help of every tool')
    parser.add_argument('--repeat', type=int, default=3, help='runs per tool; the best is reported (default 3)')
    parser.add_argument('--python', default=sys.executable, help='interpreter to run the tools with')
    args = parser.parse_args(argv)
    base, _ = time_command([args.python, '-c', 'pass'], args.repeat)
    rows = [(tool, *time_command([args.python, tool, '--help'], args.repeat)) for tool in tool_paths()]
    width = max(len(tool) for tool, _, _ in rows)
    print(f'{"tool":<{width}}  --help (s)  status')
    for tool, seconds, status in rows:
        print(f'{tool:<{width}}  {seconds:10.3f}  {status}')
    times = sorted(seconds for _, seconds, _ in rows)
    print(f'{len(rows)} tools: median {times[len(times) // 2]:.3f} s, slowest {times[-1]:.3f} s; '
          f'python start-up alone {base:.3f} s (best of {args.repeat})')
    return int(any(status for _, _, status in rows))


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    sys.exit(run_tool(main))

"""Every tool answers ``--help`` (exit 0) before importing torch; ``data_tools`` runs as a package and by path.
Times are measured by tools/analysis/benchmark_help.py, not here."""
import json
import os
import subprocess
import sys

from _dist_test_helpers import REPO

# One interpreter runs every tool's --help in turn and records which tool first pulled in a heavy module.
_CHECK = r'''
import contextlib, importlib.util, io, json, runpy, sys
spec = importlib.util.spec_from_file_location('benchmark_help', 'tools/analysis/benchmark_help.py')
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
report = {}
argv0 = list(sys.argv)
for tool in bench.tool_paths():
    sys.argv = [tool, '--help']
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(tool, run_name='__main__')
        code = 'returned without exiting'
    except SystemExit as exc:
        code = exc.code
    heavy = [name for name in ('torch', 'mmengine') if name in sys.modules]
    report[tool] = dict(code=code, usage='usage:' in out.getvalue(), heavy=heavy)
    if heavy:
        break
print(json.dumps(report))
'''


def test_every_tool_answers_help_without_torch():
    proc = subprocess.run([sys.executable, '-c', _CHECK], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.splitlines()[-1])
    assert len(report) >= 40 and 'tools/train_recognizer.py' in report and 'demo/demo.py' in report
    bad = {tool: r for tool, r in report.items() if r['code'] not in (0, None) or not r['usage'] or r['heavy']}
    assert bad == {}


def test_data_tools_is_a_package_and_scripts_still_run_by_path(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]))
    for cmd in ([sys.executable, '-m', 'data_tools.build_file_list', '--help'],
                [sys.executable, os.path.join(REPO, 'data_tools', 'build_file_list.py'), '--help']):
        proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and proc.stdout.startswith('usage:'), proc.stderr[-2000:]

"""User mistakes end every tool with one line ``error: ...`` and exit status 1 (rank 0 only, once under the
``dist_*.sh`` wrappers); ``--debug`` / ``MMACTION_DEBUG=1`` shows the traceback; real bugs keep theirs."""
import importlib.util
import os
import subprocess
import sys

import pytest

from _dist_test_helpers import REPO, free_port
from mmaction.apis import cli

TOY_CONFIG = os.path.join(REPO, 'configs', 'TSN', 'toy', 'tsn_r18_toy.py')


def _load_tool(rel: str):
    spec = importlib.util.spec_from_file_location(f'tool_{os.path.basename(rel)[:-3]}', os.path.join(REPO, rel))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def toy_checkpoint(tmp_path_factory) -> str:
    from mmaction.models import build_recognizer
    from mmaction.utils.checkpoint import save_checkpoint
    from mmaction.utils.config import load_config
    path = str(tmp_path_factory.mktemp('ckpt') / 'toy.pth')
    save_checkpoint(build_recognizer(load_config(TOY_CONFIG).model, train_cfg=None, test_cfg=None), path)
    return path


@pytest.fixture
def clean_env(monkeypatch):
    for name in (cli.DEBUG_ENV, 'RANK', 'MMACTION_USER_ERROR_DIR'):
        monkeypatch.delenv(name, raising=False)


def _run_guarded(monkeypatch, capsys, tool: str, args: list) -> tuple:
    module = _load_tool(tool)
    monkeypatch.setattr(sys, 'argv', [tool, *args])
    with pytest.raises(SystemExit) as exc:
        cli.run_tool(module.main)
    return exc.value.code, capsys.readouterr().err


def _mistakes(tmp_path, ckpt: str) -> dict:
    missing = str(tmp_path / 'missing')
    labels = tmp_path / 'labels.txt'
    labels.write_text('a\nb\n')
    return {
        'config': ('tools/test_recognizer.py', [missing + '.py', ckpt], f'config file not found: {missing}.py'),
        'checkpoint': ('tools/test_recognizer.py', [TOY_CONFIG, missing + '.pth'],
                       f'checkpoint file not found: {missing}.pth'),
        'annotation': ('tools/test_recognizer.py',
                       [TOY_CONFIG, ckpt, '--cfg-options', f'data.test.ann_file={missing}.txt'],
                       f"annotation file not found: {missing}.txt (config key 'ann_file')"),
        'video': ('demo/demo.py', [TOY_CONFIG, ckpt, missing + '.mp4', str(labels)],
                  f'input not found: {missing}.mp4 (expected a video file or a frame folder)'),
    }


@pytest.mark.parametrize('mistake', ['config', 'checkpoint', 'annotation', 'video'])
def test_user_mistake_is_one_line(mistake, tmp_path, toy_checkpoint, monkeypatch, capsys, clean_env):
    tool, args, message = _mistakes(tmp_path, toy_checkpoint)[mistake]
    code, err = _run_guarded(monkeypatch, capsys, tool, args)
    assert (code, err) == (1, f'error: {message}\n')


def test_debug_shows_the_traceback_and_other_ranks_stay_quiet(tmp_path, toy_checkpoint, monkeypatch, capsys,
                                                              clean_env):
    tool, args, _ = _mistakes(tmp_path, toy_checkpoint)['checkpoint']
    monkeypatch.setenv('RANK', '1')
    assert _run_guarded(monkeypatch, capsys, tool, args) == (1, '')
    module = _load_tool(tool)
    monkeypatch.setattr(sys, 'argv', [tool, *args, '--debug'])
    from mmaction.utils.checkpoint import CheckpointError
    with pytest.raises(CheckpointError, match='checkpoint file not found'):
        cli.run_tool(module.main)


def test_real_bugs_keep_their_traceback(clean_env):
    with pytest.raises(ZeroDivisionError):
        cli.run_tool(lambda: 1 / 0)
    with pytest.raises(KeyError):
        cli.run_tool(lambda: {}['x'])
    assert cli.run_tool(lambda: 7) == 7


def test_launcher_reports_a_user_error_only_when_every_worker_stopped_on_one(tmp_path, clean_env):
    report = tmp_path / '000001'
    report.write_text('checkpoint file not found: x.pth')
    assert cli.workers_user_error([3, -15], str(tmp_path)) == 'checkpoint file not found: x.pth'
    assert cli.workers_user_error([3, 1], str(tmp_path)) is None  # the other worker crashed: full report
    report.unlink()
    assert cli.workers_user_error([3, -15], str(tmp_path)) is None


def _cli(cmd: list) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1', PORT=str(free_port()))
    env.pop(cli.DEBUG_ENV, None)
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_tool_process_prints_one_line(tmp_path):
    out = _cli([sys.executable, 'tools/train_recognizer.py', str(tmp_path / 'typo.py')])
    assert (out.returncode, out.stdout, out.stderr) == (1, '', f'error: config file not found: {tmp_path}/typo.py\n')


@pytest.mark.slow  # ~10 s each: torchrun with two workers
@pytest.mark.parametrize('mistake', ['config', 'checkpoint', 'annotation'])
def test_dist_wrapper_prints_one_line(mistake, tmp_path, toy_checkpoint):
    """Two torchrun workers hit the same mistake (the annotation file: after joining the process group): one line
    in all, no torchrun report."""
    tool, args, message = _mistakes(tmp_path, toy_checkpoint)[mistake]
    out = _cli(['bash', 'tools/dist_test_recognizer.sh', args[0], args[1], '2', *args[2:]])
    assert (out.returncode, out.stdout, out.stderr) == (1, '', f'error: {message}\n')


@pytest.mark.slow  # ~10 s: two spawned test processes
def test_spawned_workers_print_one_line(tmp_path):
    """``tools/test_localizer.py --gpus 2`` starts its own processes: the same one-line rule."""
    missing = tmp_path / 'missing.pth'
    out = _cli([sys.executable, 'tools/test_localizer.py', 'configs/localization/bmn/bmn_toy_feature.py', str(missing),
                '--gpus', '2'])
    assert (out.returncode, out.stdout, out.stderr) == (1, '', f'error: checkpoint file not found: {missing}\n')

"""Issue 5's SSN toy run through the tools: toy untrimmed rawframes -> ``dist_train_localizer.sh`` (2 CPU
processes) -> ``test_localizer.py --eval thumos14`` -> mAP@0.5 compared with chance baselines measured the same
way (an untrained model through ``test_localizer.py``; random scores on the trained run's own proposals through
``eval_localize_results.py``).
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from _dist_test_helpers import cpu_env  # noqa: E402 (tests/ helper)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
CONFIG = os.path.join(REPO, 'configs/thumos14/toy/ssn_toy_r18.py')

# Stated figures (2 processes, default toy data: 48 train / 16 val videos): trained mAP@0.5 0.90-0.97 over seeds
# 0/1 (average over tIoU 0.1-0.9: 0.74-0.83); chance 0.04-0.08 (untrained model, random scores on the same
# proposals). The test asks for TRAINED_MIN and a CHANCE_MARGIN lead over the best chance baseline.
TRAINED_MIN = 0.70
CHANCE_MARGIN = 0.50


def parse_detection_table(text: str) -> dict[str, float]:
    """``{'0.10': mAP, ..., 'Average': mAP}`` from the last "Temporal detection performance" table in ``text``."""
    header = values = None
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if cells and cells[0] == 'IoU thresh':
            header = cells[1:]
        elif cells and cells[0] == 'mean AP':
            values = cells[1:]
    if header is None or values is None or len(header) != len(values):
        raise AssertionError(f'no detection table in the output:\n{text[-3000:]}')
    return {h: float(v) for h, v in zip(header, values)}


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parse_detection_table():
    from mmaction.evaluation.temporal import detection_table
    table = detection_table(np.array([0.5, 0.25, 0.125]), [0.1, 0.5, 0.9])
    parsed = parse_detection_table('log line\n' + table + '\n')
    assert parsed == {'0.10': 0.5, '0.50': 0.25, '0.90': 0.125, 'Average': round(0.875 / 3, 4)}
    with pytest.raises(AssertionError, match='no detection table'):
        parse_detection_table('no table here')


def test_toy_config_builds_and_reorganises():
    """The toy config's train model and its test rewrite (STPPReorganized) hold the same parameters, so a
    training checkpoint loads strictly into the test model."""

    from mmaction.apis.localization import reorganize_ssn_consensus
    from mmaction.models import build_localizer
    from mmaction.utils.config import load_config
    cfg = load_config(CONFIG)
    train_model = build_localizer(cfg.model, train_cfg=cfg.train_cfg, test_cfg=cfg.test_cfg)
    test_cfg_model = dict(cfg.model)
    test_cfg_model['segmental_consensus'] = reorganize_ssn_consensus(test_cfg_model)
    # K = 4 classes, standalong classifier, stpp (1, 1, 1): (K + 1) + (K + 2K) * 3 = 5 + 36
    assert test_cfg_model['segmental_consensus']['feat_dim'] == 41
    test_model = build_localizer(test_cfg_model, train_cfg=None, test_cfg=cfg.test_cfg)
    test_model.load_state_dict(train_model.state_dict(), strict=True)
    assert sum(p.numel() for p in test_model.parameters()) == sum(p.numel() for p in train_model.parameters())


def _random_score_outputs(outputs: list, rng: np.random.Generator) -> list:
    """The same proposals with Gaussian activity/completeness logits and no regression: what chance scores."""
    return [(rel, rng.standard_normal(np.shape(act)).astype(np.float32),
             rng.standard_normal(np.shape(comp)).astype(np.float32), None) for rel, act, comp, _ in outputs]


@pytest.mark.slow
@pytest.mark.parametrize('seed', [0])
def test_toy_ssn_beats_chance_through_tools(tmp_path, capsys, seed):
    import torch

    from mmaction.models import build_localizer
    from mmaction.utils.checkpoint import save_checkpoint
    from mmaction.utils.config import load_config
    from mmaction.utils.io import dump_pickle, load_pickle
    root = str(tmp_path)
    env = cpu_env()

    def run(cmd: list[str], timeout: float) -> str:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{(proc.stdout + proc.stderr)[-6000:]}'
        return proc.stdout + proc.stderr

    run([sys.executable, os.path.join(REPO, 'data_tools/toy/build_toy_untrimmed.py'), '--out', 'data/toy_untrimmed',
         '--frames'], 300)
    train_log = run(['bash', os.path.join(REPO, 'tools/dist_train_localizer.sh'), CONFIG, '2', '--seed', str(seed),
                     '--work_dir', 'work_dirs/ssn'], 600)
    cfg = load_config(CONFIG)
    assert f'Epoch [{cfg.total_epochs}]' in train_log
    test_tool = os.path.join(REPO, 'tools/test_localizer.py')
    trained = parse_detection_table(run([sys.executable, test_tool, CONFIG, 'work_dirs/ssn/latest.pth',
                                         '--eval', 'thumos14', '--out', 'trained.pkl'], 300))

    # chance 1: the untrained network (same config and seed) through the same tool
    torch.manual_seed(seed)
    save_checkpoint(build_localizer(cfg.model, train_cfg=cfg.train_cfg, test_cfg=cfg.test_cfg),
                    os.path.join(root, 'untrained.pth'))
    untrained = parse_detection_table(run([sys.executable, test_tool, CONFIG, 'untrained.pth', '--eval', 'thumos14',
                                           '--out', 'untrained.pkl'], 300))

    # chance 2: random scores on the trained run's proposals, through eval_localize_results.py (3 draws)
    outputs = load_pickle(os.path.join(root, 'trained.pkl'))
    assert len(outputs) == 16  # the val videos, in TAG-list order
    evaluate = _load_tool('eval_localize_results')
    capsys.readouterr()
    random_runs = []
    for draw in range(3):
        path = os.path.join(root, f'random{draw}.pkl')
        dump_pickle(_random_score_outputs(outputs, np.random.default_rng(draw)), path)
        cwd = os.getcwd()
        os.chdir(root)  # the config's data paths are relative to the run folder
        try:
            evaluate.main([CONFIG, path, '--eval', 'thumos14'])
        finally:
            os.chdir(cwd)
        random_runs.append(parse_detection_table(capsys.readouterr().out))

    with capsys.disabled():
        print(f'\ntoy SSN seed {seed}: mAP@0.5 trained {trained["0.50"]:.4f} (average {trained["Average"]:.4f}); '
              f'untrained {untrained["0.50"]:.4f} (average {untrained["Average"]:.4f}); random scores '
              + ', '.join(f'{r["0.50"]:.4f}' for r in random_runs)
              + f' (average {np.mean([r["Average"] for r in random_runs]):.4f})')
    chance = max([untrained['0.50']] + [r['0.50'] for r in random_runs])
    assert trained['0.50'] >= TRAINED_MIN, f'toy SSN mAP@0.5 {trained["0.50"]} < {TRAINED_MIN}'
    assert trained['0.50'] >= chance + CHANCE_MARGIN, \
        f'toy SSN mAP@0.5 {trained["0.50"]} not {CHANCE_MARGIN} above the best chance baseline {chance}'
    assert trained['Average'] > max([untrained['Average']] + [r['Average'] for r in random_runs])


@pytest.mark.slow
def test_multiprocess_ssn_testing_matches_single_process(tmp_path):
    """5 toy videos (uneven 3/2 split over 2 ranks): ``dist_test_localizer.sh 2`` (through ``--tmpdir``) and
    ``--gpus 2`` write the same pickle, in the same video order, and print the same table as one process."""
    import torch

    from mmaction.models import build_localizer
    from mmaction.utils.checkpoint import save_checkpoint
    from mmaction.utils.config import load_config
    from mmaction.utils.io import load_pickle
    root = str(tmp_path)
    env = cpu_env()

    def run(cmd: list[str]) -> str:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{(proc.stdout + proc.stderr)[-6000:]}'
        return proc.stdout

    run([sys.executable, os.path.join(REPO, 'data_tools/toy/build_toy_untrimmed.py'), '--out', 'data/toy_untrimmed',
         '--frames', '--num-train', '1', '--num-val', '5', '--min-frames', '64', '--max-frames', '96'])
    cfg = load_config(CONFIG)
    torch.manual_seed(0)
    save_checkpoint(build_localizer(cfg.model, train_cfg=cfg.train_cfg, test_cfg=cfg.test_cfg),
                    os.path.join(root, 'model.pth'))
    tool = os.path.join(REPO, 'tools/test_localizer.py')
    args = [CONFIG, 'model.pth', '--eval', 'thumos14', '--out']
    single = run([sys.executable, tool, *args, 'one.pkl'])
    launched = run(['bash', os.path.join(REPO, 'tools/dist_test_localizer.sh'), CONFIG, 'model.pth', '2',
                    *args[2:], 'launched.pkl', '--tmpdir', 'gather'])
    spawned = run([sys.executable, tool, *args, 'spawned.pkl', '--gpus', '2'])
    assert not os.path.exists(os.path.join(root, 'gather'))  # the gathering folder is removed
    # rank 0 alone prints: one table per run, equal to the single-process one
    for log in (launched, spawned):
        assert log.count('Temporal detection performance') == 1 and log.count('SSN outputs written') == 1
        assert parse_detection_table(log) == parse_detection_table(single)
    reference = load_pickle(os.path.join(root, 'one.pkl'))
    assert len(reference) == 5
    for name in ('launched.pkl', 'spawned.pkl'):
        got = load_pickle(os.path.join(root, name))
        assert len(got) == len(reference)
        for ref_video, got_video in zip(reference, got):
            # proposals identify the video: same order; scores equal up to float summation order
            np.testing.assert_array_equal(np.asarray(ref_video[0]), np.asarray(got_video[0]))
            for ref_arr, got_arr in zip(ref_video[1:], got_video[1:]):
                np.testing.assert_allclose(np.asarray(got_arr), np.asarray(ref_arr), rtol=1e-5, atol=1e-6)

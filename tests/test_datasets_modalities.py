"""Issue 3 dataset features: Flow stacking/inversion, RGBDiff, pipeline form == flag form, decoder parity,
skip_bad_samples, LMDBFramesDataset."""
import os

import cv2
import numpy as np
import pytest
import torch

from _dataset_helpers import raw_frames, videos
from mmaction.datasets import BadSampleError, build_dataset
from mmaction.datasets.decoders.base import build_decoder
from mmaction.datasets.flag_pipeline import translate_dataset_cfg
from mmaction.registry import ConfigError

IMAGENET = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
FLOW = dict(mean=[128], std=[1], to_rgb=False)


@pytest.fixture(scope='module')
def data_dir(samples_dir):
    return os.path.join(samples_dir, 'tests', 'data')


@pytest.fixture()
def lst(tmp_path):
    def make(text):
        p = tmp_path / 'list.txt'
        p.write_text(text)
        return str(p)
    return make


def gray(data_dir, name):
    return cv2.imread(os.path.join(data_dir, 'imgs', name), cv2.IMREAD_GRAYSCALE).astype(np.float32)


@pytest.mark.parametrize('invert', [True, False])
def test_flow_stacking_order_and_inversion(data_dir, lst, invert):
    ds = raw_frames(lst('imgs 5 0\n'), data_dir, FLOW, num_segments=1, new_length=2, test_mode=True,
                          modality='Flow', image_tmpl='{}_{:05d}.jpg', img_scale=(320, 240), input_size=None,
                          flip_ratio=0, flow_invert_x=invert)
    out = ds[0]
    x = out['img_group_0']
    # test offset: tick = (5 - 2 + 1) / 1 -> int(2.0) + 1 = 3: pairs 3 and 4, channels (x, y)
    assert x.shape == (2, 2, 240, 320) and out['img_meta']['img_shape'] == (240, 320)
    for k, idx in enumerate([3, 4]):
        fx, fy = gray(data_dir, f'x_{idx:05d}.jpg'), gray(data_dir, f'y_{idx:05d}.jpg')
        np.testing.assert_array_equal(x[k, 0].numpy(), (255 - fx if invert else fx) - 128)
        np.testing.assert_array_equal(x[k, 1].numpy(), fy - 128)
    # TSN2D merges new_length pairs into channels: x3, y3, x4, y4
    merged = x.reshape(-1, 4, 240, 320)
    np.testing.assert_array_equal(merged[0, 2].numpy(), x[1, 0].numpy())


def test_flow_ten_crop_double_inversion_quirk(data_dir, lst):
    """Flipped views: TenCrop inverts x, then the global flow quirk inverts again (original behaviour)."""
    ds = raw_frames(lst('imgs 5 0\n'), data_dir, FLOW, num_segments=1, test_mode=True, modality='Flow',
                          image_tmpl='{}_{:05d}.jpg', img_scale=(320, 240), input_size=224, oversample='ten_crop',
                          flip_ratio=0)
    x = ds[0]['img_group_0']
    fx = gray(data_dir, 'x_00003.jpg')[:224, :224]
    np.testing.assert_array_equal(x[0, 0].numpy(), 255 - fx - 128)          # crop 1: inverted once
    np.testing.assert_array_equal(x[1, 0].numpy(), fx[:, ::-1] - 128)       # its flip: inverted twice


def test_rgbdiff_real_differences(data_dir, lst):
    ds = raw_frames(lst('imgs 10 0\n'), data_dir, IMAGENET, num_segments=2, new_length=2, random_shift=False,
                          modality='RGBDiff', image_tmpl='img_{:05d}.jpg', flip_ratio=0)
    x = ds[0]['img_group_0']
    assert x.shape == (4, 3, 224, 224)  # segments x new_length differences
    rgb = raw_frames(lst('imgs 10 0\n'), data_dir, IMAGENET, num_segments=2, new_length=3, random_shift=False,
                           image_tmpl='img_{:05d}.jpg', flip_ratio=0)[0]['img_group_0']
    torch.testing.assert_close(x[0], rgb[1] - rgb[0])
    torch.testing.assert_close(x[3], rgb[5] - rgb[4])


def test_pipeline_form_equals_flag_form(data_dir, lst):
    flags = dict(num_segments=3, multiscale_crop=True, scales=[1, .875, .75, .66], flip_ratio=0.5)
    path = lst('test 0\n')
    flag_ds = videos(path, data_dir, IMAGENET, **flags)
    pipeline = [dict(type='DecordInit'), dict(type='TSNSampleFrames', num_segments=3),
                dict(type='DecordDecode'), dict(type='Resize', scale=256),
                dict(type='MultiScaleCrop', input_size=224, scales=(1, .875, .75, .66), max_wh_scale_gap=1),
                dict(type='Resize', scale=(224, 224), keep_ratio=False, record_scale=False),
                dict(type='Flip', flip_ratio=0.5), dict(type='Normalize', **IMAGENET),
                dict(type='FormatShape', input_format='NCHW')]
    pipe_ds = build_dataset(dict(type='VideoDataset', ann_file=path, img_prefix=data_dir, pipeline=pipeline))
    for seed in (0, 1, 2):
        np.random.seed(seed)
        a = flag_ds[0]
        np.random.seed(seed)
        b = pipe_ds[0]
        torch.testing.assert_close(a['img_group_0'], b['img_group_0'], rtol=0, atol=0)
        assert a['img_meta']['flip'] == b['img_meta']['flip']
        np.testing.assert_array_equal(a['img_meta']['crop_quadruple'], b['img_meta']['crop_quadruple'])


def test_mmaction2_pipeline_slowonly_and_rawframe_lists(data_dir, lst):
    ds = videos(lst('test.mp4 0\n'), data_dir, pipeline=[
        dict(type='DecordInit'), dict(type='SampleFrames', clip_len=8, frame_interval=8, num_clips=1),
        dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 256)), dict(type='RandomResizedCrop'),
        dict(type='Resize', scale=(224, 224), keep_ratio=False), dict(type='Flip', flip_ratio=0.5),
        dict(type='Normalize', **IMAGENET), dict(type='FormatShape', input_format='NCTHW')])
    assert ds[0]['img_group_0'].shape == (1, 3, 8, 224, 224)
    pipe = [dict(type='SampleFrames', clip_len=1, num_clips=3, test_mode=True), dict(type='RawFrameDecode'),
            dict(type='Resize', scale=(-1, 128)), dict(type='CenterCrop', crop_size=112),
            dict(type='Normalize', **IMAGENET), dict(type='FormatShape', input_format='NCHW')]
    multi = raw_frames(lst('imgs 5 1 3\n'), data_dir, pipeline=pipe, filename_tmpl='img_{:05d}.jpg',
                             multi_class=True, num_classes=4)
    out = multi[0]
    assert out['img_group_0'].shape == (3, 3, 112, 112) and out['gt_label'].tolist() == [0, 1, 0, 1]
    off = raw_frames(lst('imgs 2 5 7\n'), data_dir, pipeline=pipe, filename_tmpl='img_{:05d}.jpg',
                           with_offset=True)
    res = off.run_pipelines(0)[0]
    # 5 frames, 3 clips: int(5/3 * (i + 0.5)) = 0, 2, 4, + start_index 1; files are read at + offset 2
    assert res['frame_inds'].tolist() == [1, 3, 5]
    assert off.get_ann_info(0)['num_frames'] == 5 and off[0]['gt_label'].tolist() == [7]


@pytest.mark.parametrize('video', ['test.mp4', 'test.avi'])
def test_decoder_parity_exact(data_dir, video):
    path = os.path.join(data_dir, video)
    idx = [0, 3, 17, 40, 3, 100]
    frames = {b: build_decoder(b, path).get_frames(idx) for b in ('decord', 'opencv', 'pyav')}
    counts = {b: build_decoder(b, path).num_frames for b in frames}
    assert len(set(counts.values())) == 1
    for b in ('opencv', 'pyav'):
        np.testing.assert_array_equal(frames[b], frames['decord'], err_msg=f'{b} != decord on {video}')


def test_skip_bad_samples_replaces_and_reports(data_dir, lst):
    path = lst('imgs 10 0\nmissing_dir 10 0\n')
    ds = raw_frames(path, data_dir, IMAGENET, image_tmpl='img_{:05d}.jpg', skip_bad_samples=True)
    np.random.seed(0)
    out = ds[1]
    assert out['img_meta']['replaced_bad_sample'] == 1 and out['img_group_0'].shape == (3, 3, 224, 224)
    assert len(ds.bad_samples) >= 1 and ds.bad_samples[0][0] == 1
    assert 'missing_dir' in ds.bad_sample_report()
    strict = raw_frames(path, data_dir, IMAGENET, image_tmpl='img_{:05d}.jpg')
    with pytest.raises(BadSampleError, match='missing_dir'):
        strict[1]


def test_lmdb_frames_dataset_matches_rawframes(data_dir, tmp_path, lst):
    lmdb = pytest.importorskip('lmdb')
    env = lmdb.open(str(tmp_path / 'imgs_img_lmdb'), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for i in range(1, 11):
            with open(os.path.join(data_dir, 'imgs', f'img_{i:05d}.jpg'), 'rb') as f:
                txn.put(f'img_{i:05d}'.encode(), f.read())
    env.close()
    path = lst('imgs 10 2\n')
    kw = dict(num_segments=3, random_shift=False, flip_ratio=0)
    a = build_dataset(dict(type='LMDBFramesDataset', ann_file=path, lmdb_prefix=str(tmp_path),
                           img_norm_cfg=IMAGENET, **kw))[0]
    b = raw_frames(path, data_dir, IMAGENET, image_tmpl='img_{:05d}.jpg', **kw)[0]
    torch.testing.assert_close(a['img_group_0'], b['img_group_0'], rtol=0, atol=0)
    with pytest.raises(BadSampleError, match='lmdb database not found'):
        build_dataset(dict(type='LMDBFramesDataset', ann_file=path, lmdb_prefix=str(tmp_path / 'x'),
                           img_norm_cfg=IMAGENET, **kw))[0]


def test_mmaction2_dataset_keys_and_pack_action_inputs(data_dir, lst):
    # mmaction2's dataset names and keys: data_prefix=dict(img=...) / dict(video=...), PackActionInputs last
    pipe = [dict(type='SampleFrames', clip_len=1, num_clips=2, test_mode=True), dict(type='RawFrameDecode'),
            dict(type='Resize', scale=(-1, 64)), dict(type='CenterCrop', crop_size=56),
            dict(type='FormatShape', input_format='NCHW'), dict(type='PackActionInputs')]
    ds = build_dataset(dict(type='RawframeDataset', ann_file=lst('imgs 5 1\n'), data_prefix=dict(img=data_dir),
                            filename_tmpl='img_{:05d}.jpg', pipeline=pipe, test_mode=True))
    out = ds[0]
    assert type(ds).__name__ == 'RawFramesDataset' and out['img_group_0'].shape == (2, 3, 56, 56)
    # frames 1 and 4 (int(5/2 * (i + 0.5)) = 1, 3, + start_index 1), resized to 64 x 85, centre 56 x 56
    expected = cv2.resize(cv2.imread(os.path.join(data_dir, 'imgs', 'img_00002.jpg')), (85, 64),
                          interpolation=cv2.INTER_LINEAR)[4:60, 14:70][..., ::-1]  # RawFrameDecode: RGB
    np.testing.assert_array_equal(out['img_group_0'][0].numpy(), expected.transpose(2, 0, 1).astype(np.float32))
    assert out['img_meta']['img_shape'] == (56, 56, 3) and out['gt_label'].tolist() == [1]
    vid = build_dataset(dict(type='VideoDataset', ann_file=lst('test.mp4 0\n'), data_prefix=dict(video=data_dir),
                             pipeline=[dict(type='DecordInit'), dict(type='SampleFrames', clip_len=2, num_clips=1,
                                                                      test_mode=True),
                                       dict(type='DecordDecode'), dict(type='FormatShape', input_format='NCTHW'),
                                       dict(type='PackActionInputs')]))
    assert vid.video_ext == '' and vid[0]['img_group_0'].shape == (1, 3, 2, 256, 340)
    with pytest.raises(ConfigError, match=r"data_prefix.*dict\(img=...\).*'video'"):
        build_dataset(dict(type='RawframeDataset', ann_file=lst('imgs 5 1\n'), data_prefix=dict(video=data_dir),
                           pipeline=pipe))


def test_flag_configs_are_translated_once_at_build_time(data_dir, lst):
    norm = dict(mean=[1, 2, 3], std=[4, 5, 6], to_rgb=False)
    cfg = dict(type='RawFramesDataset', ann_file=lst('imgs 5 0\n'), img_prefix=data_dir, img_norm_cfg=norm,
               modality=['RGB', 'Flow'], image_tmpl=['img_{:05d}.jpg', '{}_{:05d}.jpg'], num_segments=2,
               oversample='three_crop', input_size=112, test_mode=True)
    out = translate_dataset_cfg(cfg)
    assert set(out) == {'type', 'ann_file', 'data_prefix', 'filename_tmpl', 'modality', 'test_mode', 'pipeline'}
    rgb, flow = out['pipeline']
    assert [t['type'] for t in rgb] == ['TSNSampleFrames', 'RawFrameDecode', 'Resize', 'ThreeCrop', 'Flip',
                                        'Normalize', 'FormatShape']
    assert [t['type'] for t in flow][-4:] == ['Flip', 'FlowInvertX', 'Normalize', 'FormatShape']
    assert rgb[0]['num_segments'] == 2 and rgb[0]['test_mode'] and rgb[5]['mean'] == [1, 2, 3]
    assert translate_dataset_cfg(out) == out  # idempotent: a pipeline-form config passes through
    ds = build_dataset(cfg)
    assert ds.image_tmpls == ['img_{:05d}.jpg', '{}_{:05d}.jpg'] and len(ds.pipelines) == 2
    with pytest.raises(ConfigError, match=r"'data': give either 'pipeline' or .*\['num_segments'\]"):
        translate_dataset_cfg(dict(out, num_segments=3))
    # SSN: the same translation without the TSN sampler (the dataset picks each proposal's snippets)
    ssn = translate_dataset_cfg(dict(type='SSNDataset', ann_file='x.txt', img_prefix='r', img_norm_cfg=norm,
                                     body_seg=5, img_scale=32, input_size=32, flip_ratio=0))
    assert [t['type'] for t in ssn['pipeline']] == ['RawFrameDecode', 'Resize', 'CenterCrop', 'Flip', 'Normalize',
                                                    'FormatShape']
    assert ssn['body_seg'] == 5 and ssn['data_prefix'] == 'r' and ssn['filename_tmpl'] == 'img_{}.jpg'

"""Issue 9 input fuzzing: every annotation/list/CSV/pbtxt/JSON parser, the restricted unpickler and the config
loader, fed arbitrary bytes and near-valid token soup, either parse or raise a ``ValueError`` (AnnotationError,
ConfigError, ... are subclasses) whose message names the file — never another exception type or a hang."""
import functools
import os
import tempfile

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mmaction.datasets.annotations import load_rawframes_list, load_scale_file, load_video_list
from mmaction.datasets.ava_dataset import load_ava_csv, load_video_stats
from mmaction.datasets.ssn_dataset import parse_tag_list
from mmaction.evaluation.ava import read_csv, read_exclusions, read_labelmap
from mmaction.evaluation.temporal import load_activitynet_gt, load_activitynet_results
from mmaction.utils.config import load_config
from mmaction.utils.io import load_pickle
from mmaction.utils.results import read_label_map, read_labels

# Tokens of the real formats, so that examples get past the first line check into the deeper parsing.
TOKENS = ['0', '1', '3', '-1', '2.5', '1e400', 'nan', 'inf', ' ', '  ', ',', '\t', '\n', '\n', '#', 'a/b', 'vid',
          'item {', '}', 'name:', 'id:', 'label_id:', '"x"', '{', '[', ']', '"database"', '"annotations"', ':',
          '"segment"', '"label"', '"results"', 'x = 1', 'data = dict(', ')', '\x00', '\xff', 'é', '0902']
SOUP = st.lists(st.sampled_from(TOKENS), max_size=40).map(lambda t: ''.join(t).encode('utf-8', 'surrogatepass'))
CONTENT = st.one_of(st.binary(max_size=300), SOUP)
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), database=None)

PARSERS = {
    'rawframes_list': load_rawframes_list,
    'rawframes_list_multi_offset': functools.partial(load_rawframes_list, multi_class=True, with_offset=True),
    'video_list': load_video_list,
    'video_list_multi': functools.partial(load_video_list, multi_class=True),
    'scale_file': load_scale_file,
    'ava_video_stats': load_video_stats,
    'ava_csv_dataset': load_ava_csv,
    'ssn_tag_list': parse_tag_list,
    'ava_eval_csv': read_csv,
    'ava_exclusions': read_exclusions,
    'ava_labelmap_pbtxt': read_labelmap,
    'activitynet_gt_json': load_activitynet_gt,
    'activitynet_results_json': load_activitynet_results,
    'label_list': read_labels,
    'label_map': read_label_map,
    'restricted_pickle': load_pickle,
}
SUFFIX = {'activitynet_gt_json': '.json', 'activitynet_results_json': '.json', 'restricted_pickle': '.pkl',
          'ava_labelmap_pbtxt': '.pbtxt'}


def check(parser, content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'fuzzed' + suffix)
        with open(path, 'wb') as f:
            f.write(content)
        try:
            parser(path)
        except ValueError as err:
            assert 'fuzzed' in str(err), f'{type(err).__name__} does not name the file: {err}'


# Inputs that once broke a parser (found by these tests): each parser always tries them first.
NON_UTF8 = b'\x80'
REGRESSIONS_BYTES = {name: [NON_UTF8] for name in PARSERS}
REGRESSIONS_BYTES['activitynet_gt_json'] += [b'0', b'{"database": 0}']  # top level not an object
REGRESSIONS_BYTES['activitynet_results_json'] += [b'0', b'{"results": 0}', b'{"results": {"v": 0}}']
REGRESSIONS_BYTES['restricted_pickle'] += [
    b'\x95' + b'\x00' * 7 + b'\x01',  # FRAME claiming 2**56 bytes: was a MemoryError
    b'', b'\x00', b'\x95' + b'\x00' * 7 + b'\x80', b'\x80\x06']
REGRESSIONS_SOUP = {name: [] for name in PARSERS}
REGRESSIONS_SOUP['ava_exclusions'] = [b',', b'vid,x']  # a non-numeric timestamp


def _fuzz(name, strategy, regressions):
    @FUZZ
    @given(strategy)
    def run(content):
        check(PARSERS[name], content, SUFFIX.get(name, '.txt'))
    for content in regressions.get(name, []):
        run = example(content)(run)
    run()


@pytest.mark.parametrize('name', sorted(PARSERS))
def test_parser_fuzz_arbitrary_bytes(name):
    _fuzz(name, CONTENT, REGRESSIONS_BYTES)


@pytest.mark.parametrize('name', sorted(set(PARSERS) - {'restricted_pickle'}))
def test_parser_fuzz_utf8_token_soup(name):
    """Valid UTF-8 built from the formats' own tokens: reaches the field parsing past the decoding step."""
    _fuzz(name, SOUP, REGRESSIONS_SOUP)


@FUZZ
@given(CONTENT)
def test_config_loader_fuzz(content):
    check(load_config, content, '.py')

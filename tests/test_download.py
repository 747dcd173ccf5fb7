"""Weight downloads (mmaction.utils.download) against a local HTTP server, the offline case, and the log-friendly
progress display."""
import hashlib
import http.server
import io
import os
import stat
import threading

import pytest
import torch

from _dist_test_helpers import free_port
from mmaction.apis.cli import user_error_message
from mmaction.utils.checkpoint import load_file
from mmaction.utils.download import DownloadError, download_checkpoint, sha256_prefix
from mmaction.utils.progress import ProgressBar


@pytest.fixture
def weight_server(tmp_path):
    """Serves ``tmp_path/www`` on 127.0.0.1 from a thread; yields (base URL, the list of requested paths)."""
    root = tmp_path / 'www'
    root.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_address[1]}', root, requests
    server.shutdown()
    server.server_close()


def _weights(root, stem: str, good_hash: bool = True) -> tuple:
    buf = io.BytesIO()
    torch.save({'w': torch.arange(6.0)}, buf)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:8] if good_hash else '00000000'
    name = f'{stem}-{digest}.pth'
    (root / name).write_bytes(data)
    return name, data


def test_download_verifies_writes_atomically_and_reuses(weight_server, tmp_path):
    base, root, requests = weight_server
    name, data = _weights(root, 'tiny')
    cache = tmp_path / 'cache'
    old = os.umask(0o022)
    try:
        path = download_checkpoint(f'{base}/{name}', cache_dir=str(cache), progress=False)
    finally:
        os.umask(old)
    assert path == str(cache / name) and open(path, 'rb').read() == data
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644 and os.listdir(cache) == [name]
    assert download_checkpoint(f'{base}/{name}', cache_dir=str(cache)) == path
    assert requests == [f'/{name}']  # the second call used the cached file


def test_hash_mismatch_leaves_nothing(weight_server, tmp_path):
    base, root, _ = weight_server
    name, _ = _weights(root, 'bad', good_hash=False)
    with pytest.raises(DownloadError, match='SHA-256'):
        download_checkpoint(f'{base}/{name}', cache_dir=str(tmp_path / 'cache'), progress=False)
    assert os.listdir(tmp_path / 'cache') == []


def test_checkpoint_urls_go_through_the_download(weight_server, tmp_path, monkeypatch):
    base, root, _ = weight_server
    name, _ = _weights(root, 'ckpt')
    monkeypatch.setenv('MMACTION_CACHE', str(tmp_path / 'hub'))
    assert torch.equal(load_file(f'{base}/{name}')['w'], torch.arange(6.0))
    assert os.path.isfile(tmp_path / 'hub' / name)


def test_offline_names_url_cache_path_and_manual_step(tmp_path):
    url = f'http://127.0.0.1:{free_port()}/models/resnet50-19c8e357.pth'  # nobody listens there
    with pytest.raises(DownloadError) as exc:
        download_checkpoint(url, cache_dir=str(tmp_path), progress=False)
    message = user_error_message(exc.value)  # the tools print it as one line
    target = str(tmp_path / 'resnet50-19c8e357.pth')
    assert url in message and f'expected at {target}' in message and 'curl -L -o' in message
    assert '\n' not in message and 'Traceback' not in message


def test_default_cache_is_torch_hub(monkeypatch, tmp_path):
    from mmaction.utils.download import default_cache_dir
    monkeypatch.delenv('MMACTION_CACHE', raising=False)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    assert default_cache_dir() == os.path.join(torch.hub.get_dir(), 'checkpoints')
    assert default_cache_dir().startswith(str(tmp_path))
    assert sha256_prefix('resnet50-19c8e357.pth') == '19c8e357' and sha256_prefix('epoch_12.pth') is None
    assert sha256_prefix('tsn-1a2b3c.pth') is None  # fewer than 8 hex digits: not a hash


def test_progress_in_logs_is_one_line_per_step():
    out = io.StringIO()  # not a terminal
    with ProgressBar(200, 'testing', stream=out, step=25) as bar:
        for _ in range(200):
            bar.update()
    lines = out.getvalue().splitlines()
    assert [line.split(' (')[0] for line in lines] == [f'testing: {n}/200' for n in (50, 100, 150, 200)]
    assert '\r' not in out.getvalue()
    quiet = io.StringIO()
    with ProgressBar(10, stream=quiet, enabled=False) as bar:
        bar.update(10)
    assert quiet.getvalue() == ''

"""Weight downloads: one function, into the torch hub cache, verified and written atomically.

    path = download_checkpoint('https://download.pytorch.org/models/resnet50-19c8e357.pth')

The file lands in ``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub/checkpoints``; ``MMACTION_CACHE`` names
another folder) under the URL's file name and is reused from there. A file name ending in ``-<hex>.<ext>`` (8 or more
hex digits, torch hub's convention) carries the prefix of the file's SHA-256, which is checked. When the download
fails (offline, firewall) the error names the URL, the path the file is expected at, and how to put it there by hand.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.parse
import urllib.request

from .io import atomic_path
from .progress import ProgressBar

_HASH_RE = re.compile(r'-([a-f0-9]{8,})\.[^.]+$')
_CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A weight file could not be downloaded or did not verify; the message says how to provide it by hand."""


def default_cache_dir() -> str:
    """``MMACTION_CACHE`` when set, else torch hub's checkpoint folder."""
    if os.environ.get('MMACTION_CACHE'):
        return os.environ['MMACTION_CACHE']
    import torch.hub
    return os.path.join(torch.hub.get_dir(), 'checkpoints')


def sha256_prefix(filename: str) -> str | None:
    """The SHA-256 prefix a torch-hub style file name carries (``resnet50-19c8e357.pth`` -> ``19c8e357``)."""
    found = _HASH_RE.search(os.path.basename(filename))
    return found.group(1) if found else None


def download_checkpoint(url: str, cache_dir: str | None = None, progress: bool = True, timeout: float = 30.0) -> str:
    """The local path of ``url``'s file in ``cache_dir`` (default :func:`default_cache_dir`), downloaded first when
    it is not there yet. Raises :class:`DownloadError` when the download fails or the SHA-256 prefix differs."""
    name = os.path.basename(urllib.parse.urlparse(url).path)
    if not name:
        raise DownloadError(f'{url}: the URL names no file')
    target = os.path.join(cache_dir or default_cache_dir(), name)
    if os.path.isfile(target):
        return target
    expected = sha256_prefix(name)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_path(target) as tmp:
            total = int(response.headers.get('Content-Length') or 0)
            digest = hashlib.sha256()
            with open(tmp, 'wb') as f, ProgressBar(total, f'downloading {name}', enabled=progress, unit='B') as bar:
                while chunk := response.read(_CHUNK):
                    f.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            if expected and not digest.hexdigest().startswith(expected):
                raise DownloadError(f'{url}: downloaded file has SHA-256 {digest.hexdigest()[:len(expected)]}..., '
                                    f'its name says {expected}... (a corrupt download or a changed file); '
                                    f'nothing was written to {target}')
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as err:
        reason = getattr(err, 'reason', None) or err
        raise DownloadError(
            f'cannot download {url} ({reason}); the file is expected at {target}: on a machine with internet '
            f'access download it (e.g. curl -L -o {name} {url}) and copy it there, or pass a local checkpoint '
            f'path instead') from None
    return target

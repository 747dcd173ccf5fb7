"""Progress display that behaves in logs: a ``rich`` bar on a terminal, otherwise one plain line every ``step`` percent
(a carriage-return bar written to a log file would add a line per update)."""
from __future__ import annotations

import sys
import time
from typing import IO, Any


def _format_count(value: float, unit: str) -> str:
    if unit == 'B':
        from rich.filesize import decimal
        return decimal(int(value))
    return f'{int(value)}{unit}'


class ProgressBar:
    """``with ProgressBar(total, 'testing') as bar: ... bar.update(n)`` (the bar also closes when ``total`` is
    reached). ``total`` 0 or ``enabled=False``: silent. ``unit='B'`` shows byte counts as kB/MB. ``stream`` defaults to stderr;
    it gets the rich bar only when it is a terminal.
    """

    def __init__(self, total: int, desc: str = '', enabled: bool = True, stream: IO | None = None,
                 step: int = 10, unit: str = ''):
        self.total, self.desc, self.unit, self.step = int(total), desc, unit, max(1, int(step))
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and self.total > 0
        self.done, self._next_step, self._start = 0, self.step, time.monotonic()
        self._rich: Any = None
        if self.enabled and getattr(self.stream, 'isatty', lambda: False)():
            from rich.console import Console
            from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeRemainingColumn, TransferSpeedColumn)
            count = [DownloadColumn(), TransferSpeedColumn()] if unit == 'B' else [MofNCompleteColumn()]
            self._rich = Progress(TextColumn('{task.description}'), BarColumn(), *count, TimeRemainingColumn(),
                                  console=Console(file=self.stream))
            self._task = self._rich.add_task(desc, total=self.total)
            self._rich.start()

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if self._rich is not None:
            self._rich.update(self._task, completed=self.done)
            if self.done >= self.total:
                self.close()
            return
        percent = 100 * self.done // self.total
        if percent >= self._next_step:
            self._next_step = (percent // self.step + 1) * self.step
            elapsed = time.monotonic() - self._start
            self.stream.write(f'{self.desc + ": " if self.desc else ""}{_format_count(self.done, self.unit)}/'
                              f'{_format_count(self.total, self.unit)} ({percent}%, {elapsed:.0f}s)\n')
            self.stream.flush()

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None

    def __enter__(self) -> 'ProgressBar':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

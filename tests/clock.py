"""One frozen clock for the tests: it stands at ``moment`` for every caller (the services'
``timezone.now()`` and the models' defaults alike) until moved."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import time_machine


class Clock:
    def __init__(self, moment: dt.datetime):
        self.moment = moment
        self._travel = time_machine.travel(moment, tick=False)
        self._coordinates = self._travel.start()

    def set(self, moment: dt.datetime) -> None:
        self.moment = moment
        self._coordinates.move_to(moment)

    @contextmanager
    def at(self, moment: dt.datetime):
        """The clock at ``moment`` inside the block, back where it was after it."""
        before = self.moment
        self.set(moment)
        try:
            yield
        finally:
            self.set(before)

    def stop(self) -> None:
        self._travel.stop()

"""Route changes made anywhere: LISTEN tenant_routing on the main database.

Every change of "Organization"."databaseUrl" notifies, in the transaction that makes it
(migration b7e2c9d4a1f3): a save or clear in any console process, a move's switch, the
guide's Option B SQL run by hand. Each console process listens on one connection of its
own and forgets what it remembered of the organization named (its engine, the failure
and schema memory that go with it), so its next request follows the new route at once.
"""

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import URL

from app.tenancy.urls import connect_params

CHANNEL = "tenant_routing"
logger = logging.getLogger(__name__)
RECONNECT_AFTER = 2.0  # seconds, after the main database went away


class RouteListener:
    def __init__(self, main_url: URL, on_change: Callable[[str], None], connect_timeout: int = 10):
        self.params = connect_params(
            main_url, connect_timeout=connect_timeout, application_name="tenant-console-listen"
        )
        self.on_change = on_change
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tenant-routing-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(**self.params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=1.0):
                            self.on_change(notice.payload)
            except Exception:  # the listener must outlive any failure, and say so
                # Notices sent while disconnected are lost: forget everything once back.
                logger.warning("route listener lost its connection; reconnecting", exc_info=True)
                self.listening.clear()
                self.on_change("")
                self._stop.wait(RECONNECT_AFTER)

"""Keys, each sent where the focus is when its turn comes.

Textual routes a key to the widget focused when the key *arrives*, before the keys ahead of it
have run, and runs its bindings only once it has bubbled back up; so text typed right after ``/``,
``e`` or F2 (in one burst, or over a slow link) landed in the view or in a dialog not yet mounted,
and a ctrl+u typed before text in a field ran after it. Here keys go one at a time: each waits for
the one ahead of it to be handled (and for a dialog still mounting to focus its field); a view's
keys, which act through bindings only, run their bindings at once. The app hands every key that
comes from the terminal to :meth:`KeyQueue.arrived`.
"""

from __future__ import annotations

import time
from functools import partial

from textual import events
from textual.screen import ModalScreen

from workbench.tui.widgets.code_view import CodeView


class KeyQueue:
    KEY_HOLD_S = 1.0      # the longest keys wait for a dialog to focus its field
    KEY_FLIGHT_S = 0.2    # the longest a key waits for the one ahead of it to be handled

    def __init__(self, app) -> None:
        self.app = app
        self._held_keys: list[events.Key] = []   # keys waiting for the one ahead, or for a dialog
        self._held_since = 0.0
        self._key_in_flight: events.Key | None = None
        self._key_timer = None
        self._dialog_waited = None    # a dialog that kept no focus: its keys are not held again

    async def arrived(self, event: events.Key) -> None:
        if self._key_in_flight is not None or self._held_keys or self._dialog_unfocused():
            self._hold_key(event)
        else:
            await self._route_key(event)

    def handled(self, event: events.Key) -> None:
        """The app's bindings ran for the key (App._on_key): done after them."""
        self.app.call_later(self._key_done, event)

    def _dialog_unfocused(self) -> bool:
        """A dialog on screen with no focus yet (it is mounting), unless it is one that kept none."""
        return self.app.focused is None and isinstance(self.app.screen, ModalScreen) and \
            self.app.screen is not self._dialog_waited

    def _dialog_mounting(self) -> bool:
        """A dialog not focused yet, waited for at most KEY_HOLD_S (once: one that never takes
        the focus gets its keys as Textual routes them)."""
        if not self._dialog_unfocused():
            return False
        if time.monotonic() - self._held_since < self.KEY_HOLD_S:
            return True
        self._dialog_waited = self.app.screen
        return False

    def _hold_key(self, event: events.Key) -> None:
        if not self._held_keys and self._key_in_flight is None:
            self._held_since = time.monotonic()
            self.app.call_after_refresh(self._release_keys)
        self._held_keys.append(event)

    async def _route_key(self, event: events.Key) -> None:
        if self.app.screen.maximized is not None and event.key == "escape" and self.app.escape_to_minimize:
            self.app.screen.minimize()
            return
        if await self.app._check_bindings(event.key, priority=True):
            return
        target = self.app.focused or self.app.screen
        self._key_in_flight = event
        self._key_timer = self.app.set_timer(self.KEY_FLIGHT_S, partial(self._key_done, event))
        if isinstance(target, CodeView):
            await self.app._check_bindings(event.key)
            # the next key waits for what this one's action left queued: a field focused with
            # ``focus()`` (C, D) gets it a message later, and the text typed after C or D in one
            # burst went to the view's bindings (levels switched, a watch added, the field empty)
            self.app.call_later(self._key_done, event)
            return
        target._forward_event(event)
        target.call_later(self._key_ran, event)   # after the target has handled it

    def _key_ran(self, event: events.Key) -> None:
        """The target handled the key: done, unless it bubbles on to the app's bindings."""
        if event._stop_propagation or not event.bubble:
            self.app.call_later(self._key_done, event)

    def _key_done(self, event: events.Key) -> None:
        if self._key_in_flight is not event:
            return
        self._key_in_flight = None
        self._key_timer.stop()
        if self._held_keys:
            self.app.call_later(self._release_keys)

    async def _release_keys(self) -> None:
        if self._key_in_flight is not None:
            return   # the key ahead is still being handled; its end releases the next
        if self._dialog_mounting():
            self.app.call_after_refresh(self._release_keys)
            return
        while self._held_keys and self._key_in_flight is None:
            await self._route_key(self._held_keys.pop(0))

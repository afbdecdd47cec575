"""Nothing of a resident outlives their visit in the kiosk's memory (Pilot, real card stack, real host).

After a whole visit and the reset, once the kiosk has released the visit (tui/memory.py), the garbage
collector reaches no visit state with personal data, no card read or host answer, and no string the kiosk
drew with the resident's name in it. Before the release, Textual's `StylesCache.get_inner_outer`
lru_cache kept the rendered lines of up to 1024 gone widgets (Textualize/textual#6665), names included.
"""

from __future__ import annotations

import gc
import types

import pytest
from textual._styles_cache import StylesCache
from textual.widget import Widget

from yoshin.devtools.personas import persona
from yoshin.protocol.api import IdentityAnswer
from yoshin.smartcard.card import FaceRead
from yoshin.tui.screens.identity import IdentityScreen
from yoshin.tui.screens.welcome import WelcomeScreen
from yoshin.tui.state import Visit

pytestmark = pytest.mark.pcsc


def strings_reachable(needle: str) -> list[str]:
    """Every string containing `needle` that a gc-tracked object refers to, directly or through one
    untracked tuple (which is where rich's and Textual's caches keep text). Frames and coroutines are left
    out: the test's own locals are not the kiosk's."""
    found = []
    for holder in gc.get_objects():
        if isinstance(holder, types.FrameType | types.CoroutineType):
            continue
        for ref in gc.get_referents(holder):
            inner = gc.get_referents(ref) if isinstance(ref, tuple) and not gc.is_tracked(ref) else ()
            for each in (ref, *inner):
                if isinstance(each, str) and needle in each:
                    found.append(each)
    return found


async def test_after_a_visit_ends_nothing_drawn_or_read_of_the_resident_is_reachable(kiosk, card, drive) -> None:
    resident = persona("elderly")
    drawn = f"{resident.name.split()[1]} さん"  # as the identity screen writes it (「多摩 一郎 さん」)

    def held() -> list[object]:
        """What would name the resident: visit state with personal data, card reads, host answers naming a
        subject, and strings holding the drawn name."""
        gc.collect()
        objects = gc.get_objects()
        found: list[object] = [v for v in objects if isinstance(v, Visit) and v.has_personal_data()]
        found += [o for o in objects if isinstance(o, FaceRead) or (isinstance(o, IdentityAnswer) and o.subject)]
        return found + list(strings_reachable(drawn))

    # Earlier tests in this process (the same persona, the in-process host) may have left such objects:
    # only what this visit makes counts. They are held here, so no new object can reuse an old one's id.
    earlier = held() + [o for o in gc.get_objects() if isinstance(o, StylesCache)]
    known = {id(o) for o in earlier}
    app = kiosk()
    emulator = card("elderly")
    async with app.run_test(size=(80, 24)) as pilot:
        await drive.start_visit(pilot, app, "ja")
        await drive.type_pin(pilot, app, "2580")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        assert drawn in str(app.screen.query_one("#who").render())  # the name is on screen during the visit
        await drive.click(pilot, app, "#yes")
        await drive.choose(pilot, app, "#v-flu_elderly-1")
        await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination"})
        await drive.submit_and_leave(pilot, app, card, emulator)
        released = app.visits_forgotten
        app.reset()  # (the thanks screen's own timer does this after 8 s)
        await drive.until(pilot, lambda: app.visits_forgotten > released and isinstance(app.screen, WelcomeScreen), app)
        await drive.until(pilot, lambda: {w.group for w in app.workers} <= {"reader-monitor"}, app)  # card workers done
        left = [o for o in held() if id(o) not in known]
        assert not [o for o in left if isinstance(o, Visit)]
        # (the host runs in this process too: its module-level answers name nobody)
        assert not [o for o in left if isinstance(o, FaceRead | IdentityAnswer)]
        assert not [o for o in left if isinstance(o, str)]
        # What held them: render caches of widgets long gone. Now about as many as the widgets alive.
        caches = sum(isinstance(o, StylesCache) and id(o) not in known for o in gc.get_objects())
        widgets = sum(isinstance(o, Widget) for o in gc.get_objects())
        assert caches <= 2 * widgets + 10, (caches, widgets)

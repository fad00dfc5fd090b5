"""The command palette (ctrl+p): every action of the app by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from workbench.tui.format import LEVELS

RESULT_TABS = ("outputs", "dumps", "bench", "configs", "history", "profile", "passes", "compare", "sanitize", "log")


class WorkbenchCommands(Provider):
    """Commands come from ``app.palette_commands()``: (name, help, callback) triples."""

    def _commands(self):
        return self.app.palette_commands()

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(callback), help=help_text)


def palette_commands(app) -> list[tuple[str, str, object]]:
    """Every action of the app by name: (name, help, callback) triples."""
    main = app.main

    def pane_action(name: str):
        def call():
            pane = main.pane(main.focused_level())
            getattr(pane, f"action_{name}")()
        return call

    cmds = [(f"Show {app.family.title(lv)}", f"show the {app.family.title(lv)} level (key {i})",
             partial(main.action_show_level, lv)) for i, lv in enumerate(LEVELS, 1)]
    cmds += [
        ("Next level in this pane", "key >", partial(main.action_cycle_level, 1)),
        ("Previous level in this pane", "key <", partial(main.action_cycle_level, -1)),
        ("Open another script", "F2: bundled examples, scripts beside this one, or a path", app.opening.action_open_other),
        ("Two or three panes", "key v", main.action_toggle_columns),
        ("Edit the focused level", "key e; ctrl+s saves and recompiles", pane_action("edit")),
        ("Save the focused level", "ctrl+s: recompile from it, run, verify", pane_action("save")),
        ("Search in the focused level", "key /", pane_action("search")),
        ("Open the focused level in $EDITOR", "key E (the app suspends)", app.saves.action_external_editor),
        ("Follow the mapping to the next pane", "key f", main.action_follow),
        ("Dump the value under the cursor", "key x", app.dumps.action_dump_here),
        ("Watch the value under the cursor", "key w: dumped on every save beside the original's",
         app.watches.action_watch_here),
        ("First divergence of the last version", "key F: where its values first leave the original's",
         app.dumps.action_first_divergence),
        ("Run the last version again", "key R", app.saves.action_rerun),
        ("Run the original", "verify and time the original kernel", partial(app.saves.run_version, "original")),
        ("Toggle bench on save", "key b", app.bench.action_toggle_bench),
        ("History: diff a version against the original, the previous or a marked one",
         "key H; in it o: original or previous, m: diff against the selected version", app.history.action_history_tab),
        ("Restore the version selected in History", "key r in History", app.history.action_restore_selected),
        ("Export the version selected in History", "a folder whose run.py needs only torch and triton",
         app.history.action_export_selected),
        ("Profile under ncu", "key P: the version selected in History beside the original: counters, "
         "roofline, hot lines", app.profile.action_profile),
        ("Compare with another Triton release", "key V: resources, levels, the passes aligned and the first "
         "one whose output differs, under both releases", app.compare.action_compare),
        ("Compare: the last comparison", "over the whole screen (Esc: back)", app.compare.show),
        ("Sanitize the version shown", "key Z: under compute-sanitizer's memcheck, its errors at their lines, "
         "new ones against the original (a GPU)", app.sanitize.action_sanitize),
        ("Sanitize under every tool", "memcheck, racecheck, initcheck and synccheck (--all)", app.sanitize.sanitize_all),
        ("Restore the original into edit/", "every level back to the first compile",
         partial(app.saves.restore, "original")),
        ("Kernels", "key K: the kernel picker", main.action_focus_picker),
        ("Pass that introduced this line", "key p on a TTGIR or LLIR line: the Passes tab", app.passes.action_pass_of_line),
        ("Help: keys", "F1 or ?", app.action_help),
        ("Discard the draft of the focused level", "key u in a pane", pane_action("discard")),
        ("Quit", "ctrl+q (asks first if a pane holds a draft)", app.action_quit),
    ]
    cmds += [(f"Results: {tab.title()}", "keys O D B C H P M L", partial(main.action_results, tab, True))
             for tab in RESULT_TABS]
    cmds += [(f"Theme: {name}", "colours of the app and the levels", partial(setattr, app, "theme", name))
             for name in sorted(app.themes.themes)]
    return cmds

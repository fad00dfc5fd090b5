"""The Configs tab: an autotuned kernel's configs run and timed as the tab is looked at, a config
or a sweep typed into its field, each row as it finishes (``app.configs``)."""

from __future__ import annotations

import time

from workbench.model import results
from workbench.tui import widgets as views
from workbench.tui.messages import ConfigsDone
from workbench.tui.main_screen import after_rest
from workbench.tui.runner_link import worker
from workbench.tui.widgets.kernel_picker import KernelPicker


class ConfigsFeature:
    def __init__(self, app) -> None:
        self.app = app
        self.tunings: list[dict] = []               # the script's autotune tunings, as the runner has them
        self.config_results: dict[str, results.RunResult] = {}   # spec id -> its config's run
        self._sweep_stop = True                      # False while a sweep runs
        self._configs_running = False

    def action_configs_tab(self) -> None:
        """The Configs tab, ready to type a config into (Tab: the table)."""
        self.app.main.action_results("configs", field=True)

    def _tuning_index(self) -> int | None:
        """The tuning the kernel on screen is a config of (None: it is not autotuned)."""
        if self.app.current is None:
            return None
        sid = self.app.spec_id
        return next((i for i, t in enumerate(self.tunings)
                     if any(c["spec_id"] == sid for c in t["configs"].values())), None)

    def show(self) -> None:
        """The table of the kernel on screen; the configs not run yet are run (timed with a GPU),
        one answer at a time, as the tab is looked at."""
        from workbench.model.configs_report import config_tables
        index = self._tuning_index()
        view = self.app.query_one(views.ConfigsView)
        view.name_kernel(self.app.current.spec if self.app.current else None)
        if index is None:
            view.show(None)
            return
        tuning = self.tunings[index]
        view.show(config_tables([tuning], list(self.config_results.values()))[0])
        todo = [c["spec_id"] for c in tuning["configs"].values()
                if c["spec_id"] not in self.config_results and not c["spec_id"].startswith("config-")]
        if todo and not self._configs_running:
            self._configs_running = True
            self.run_configs(todo)

    @worker(group="configs", exclusive=True)
    async def run_configs(self, spec_ids: list[str]) -> None:
        bench = dict(self.app.bench_options) if self.app.gpu else None   # no interpreter time shown as a timing
        try:
            for sid in spec_ids:
                self.app.post_message(ConfigsDone([results.RunResult.parse(await self.app.link.request(
                    "run", kernel=sid, bench=bench, on_event=self.app.link.progress))]))
        except Exception as e:  # noqa: BLE001 - said on the status line, the table keeps what ran
            self.app.post_message(ConfigsDone([], error=f"{type(e).__name__}: {e}"))
        finally:
            self._configs_running = False

    @worker(group="configs")
    async def try_config(self, text: str) -> None:
        """One config typed in the Configs tab, or a sweep's every config in turn, each row in the
        table as it finishes, the count, elapsed time and ETA on the status line; Esc in the tab
        stops a sweep after the config it is at."""
        bench = dict(self.app.bench_options) if self.app.gpu else None
        try:
            await self._sweep(text, bench)
        finally:
            self._sweep_stop = True   # (nothing left to stop)

    async def _sweep(self, text: str, bench: dict | None) -> None:
        try:
            named = await self.app.link.request("configs_of", text=text)
        except Exception as e:  # noqa: BLE001 - a config text the runner refused: one line
            self.app.post_message(ConfigsDone([], error=str(getattr(e, "message", e)).splitlines()[0]))
            return
        configs, grid, t0 = named["configs"], named.get("grid"), time.monotonic()
        if len(configs) > 1:   # their compiles in worker processes, while the configs run one by one
            await self.app.link.request("prefetch_configs", kernel=self.app.spec_id, configs=configs, grid=grid)
        for i, config in enumerate(configs):
            if self._sweep_stop:
                self.app.post_message(ConfigsDone([], progress=f"sweep stopped after {i} of {len(configs)} configs "
                                                            f"({time.monotonic() - t0:.1f} s): the table keeps them"))
                return
            try:
                out = await self.app.link.request("try_config", kernel=self.app.spec_id, config=config, bench=bench, grid=grid,
                                grid_from="the Configs field", on_event=self.app.link.progress)
                result = results.RunResult.parse(out["result"])
            except Exception as e:  # noqa: BLE001 - the runner refused it (or answered another shape): one line
                self.app.post_message(ConfigsDone([], error=str(getattr(e, "message", e)).splitlines()[0]))
                continue
            progress = None
            if named["sweep"]:
                done, elapsed = i + 1, time.monotonic() - t0
                progress = (f"sweep {done} of {len(configs)} · {elapsed:.1f} s elapsed" +
                            (f" · about {elapsed / done * (len(configs) - done):.0f} s to go (Esc stops)"
                             if done < len(configs) else " · done"))
            self.app.post_message(ConfigsDone([result], (out["tuning_index"], out["tuning"]), progress=progress,
                                          kernel=results.KernelEntry.parse(out["kernel"]) if out.get("kernel") else None))

    def on_configs_view_try(self, msg: views.ConfigsView.Try) -> None:
        self.app.status.show(f"trying {msg.text}…", busy=True)
        self._sweep_stop = False   # here, not in the worker: an Esc right after Enter must hold
        self.try_config(msg.text)

    def on_configs_view_stop(self, msg: views.ConfigsView.Stop) -> None:
        self.app.main.action_focus_pane(0)   # Esc leaves the field (and the tab) for the levels
        if not self._sweep_stop:
            self._sweep_stop = True
            self.app.status.show("stopping the sweep after the config it is at…", busy=True)

    def on_configs_view_picked(self, msg: views.ConfigsView.Picked) -> None:
        index = next((i for i, e in enumerate(self.app.kernels) if e.spec_id == msg.spec_id), None)
        if index is None:
            self.app.notify("this config did not compile: it has no levels to show", severity="warning")
            return
        self.app.opening.switch_kernel(index)

    @after_rest
    def on_configs_done(self, msg: ConfigsDone) -> None:
        if msg.error:
            self.app.status.show(msg.error, kind="error")
        if msg.tuning is not None:
            index, tuning = msg.tuning
            self.tunings[index:index + 1] = [tuning]
        if msg.kernel is not None and all(e.spec_id != msg.kernel.spec_id for e in self.app.kernels):
            self.app.kernels.append(msg.kernel)
            self.app.query_one(KernelPicker).add_kernel(msg.kernel)
        for result in msg.results:
            self.config_results[result.spec_id] = result
            if msg.tuning is not None:
                from workbench.model.configs_report import label
                tried = [c for c in msg.tuning[1]["configs"].values() if c["spec_id"] == result.spec_id]
                what = label(tried[-1]["kwargs"]) if tried else result.spec_id
                self.app.status.show(f"tried {what}: {result.status}"
                                 + (f": {result.message}" if result.message else "")
                                 + (f" · {msg.progress}" if msg.progress else ""),
                                 kind="ok" if result.status == "ok" else "error",
                                 busy=bool(msg.progress) and not msg.progress.endswith("done"))
        if msg.progress and not msg.results:
            self.app.status.show(msg.progress)
        if self.app.main.results_tab() == "configs":
            self.show()

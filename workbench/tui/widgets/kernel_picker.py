"""The script's kernels and their specializations, each with its constexpr values, grid, warps,
registers, shared memory, spills and launch count; choosing one loads its levels.

An autotuned kernel's configs (real kernels have dozens) are grouped under one line for the
kernel: the chosen config starred and always listed, the others shown by Enter on the group
line. The kernel on screen shows the facts of the version loaded, not only the original's.
"""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from workbench.model.results import KernelEntry
from workbench.tui.format import constexpr_text, kernel_facts, kernel_label, version_label


def is_chosen(entry: KernelEntry) -> bool:
    return bool((entry.spec.get("autotune") or {}).get("chosen") or entry.spec.get("chosen"))


def groups(kernels: list[KernelEntry]) -> list[tuple[str, list[int]]]:
    """(kernel name, indexes) in first-launch order; an autotuned kernel's configs share a group."""
    out: dict[str, list[int]] = {}
    for i, entry in enumerate(kernels):
        tuned = (entry.spec.get("autotune") or {}).get("configs", 1) > 1
        key = f"tuned:{entry.kernel}" if tuned else f"k{i}"
        out.setdefault(key, []).append(i)
    return list(out.items())


class KernelPicker(OptionList):
    DEFAULT_CSS = """
    KernelPicker { width: 36; height: 1fr; border: none; border-right: vkey $panel; }
    """

    class Picked(Message):
        def __init__(self, picker: "KernelPicker", index: int) -> None:
            super().__init__()
            self.picker = picker
            self.index = index

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kernels: list[KernelEntry] = []
        self.expanded: set[str] = set()
        self.current: int | None = None
        self.version: tuple[str, dict, str] | None = None   # (version, compile summary, verdict) of the current kernel

    def show_kernels(self, script: str, kernels: list[KernelEntry]) -> None:
        self.kernels, self.current, self.version = list(kernels), None, None
        self.expanded.clear()
        self.border_title = script
        self._render_options()

    def _render_options(self) -> None:
        keep = self.highlighted_id()
        self.clear_options()
        options = []
        for key, members in groups(self.kernels):
            if not key.startswith("tuned:"):
                options.append(self._kernel_option(members[0], indent=""))
                continue
            open_ = key in self.expanded
            n = len(members)
            label = Text(f"{'▾' if open_ else '▸'} {self.kernels[members[0]].kernel}", style="bold")
            label.append(f"\n  {n} autotune config{'s' if n != 1 else ''} · Enter: {'fewer' if open_ else 'all'}",
                         style="dim")
            options.append(Option(label, id=key))
            for i in members:
                if open_ or is_chosen(self.kernels[i]) or i == self.current:
                    options.append(self._kernel_option(i, indent="  "))
        self.add_options(options)
        if keep is not None:
            self.highlight_id(keep)

    def _kernel_option(self, i: int, indent: str) -> Option:
        entry = self.kernels[i]
        label = Text(indent + ("★ " if is_chosen(entry) else ""), style="bold")
        label.append(kernel_label(entry), style="bold")
        consts = constexpr_text(entry.spec)
        if consts:
            label.append(f"\n{indent}{consts}", style="")
        compiled = None
        if i == self.current and self.version is not None and self.version[0] != "original":
            version, compiled, verdict = self.version
            label.append(f"\n{indent}{version_label(version)}: {verdict or 'on screen'}", style="bold")
        facts = kernel_facts(entry, compiled)
        style = "red" if entry.error is not None else "dim"
        for line in facts.splitlines():
            label.append(f"\n{indent}{line}", style=style)
        return Option(label, id=f"k{i}")

    def add_kernel(self, entry: KernelEntry) -> None:
        """A specialization that joined after the script's: a config tried in the Configs tab."""
        self.kernels.append(entry)
        self._render_options()

    def highlighted_id(self) -> str | None:
        if self.highlighted is None or self.option_count == 0:
            return None
        return self.get_option_at_index(self.highlighted).id

    def highlight_id(self, option_id: str) -> None:
        try:
            index = self.get_option_index(option_id)
        except Exception:  # noqa: BLE001 - OptionDoesNotExist: the option is in a closed group
            return
        if self.highlighted != index:
            self.highlighted = index

    def select_kernel(self, index: int) -> None:
        """Mark ``index`` as the kernel on screen and highlight it (its group stays as it is:
        the current kernel is always listed)."""
        self.current, self.version = index, None
        self._render_options()
        self.highlight_id(f"k{index}")

    def show_version(self, version: str, compiled: dict | None, verdict: str = "") -> None:
        """The version now on screen, its verdict and its facts (its own warps, registers, spills,
        shared memory)."""
        if self.current is None:
            return
        shown, self.version = self.version, (str(version), compiled or {}, verdict)
        if self.version == shown:
            return
        # only the kernel on screen's line changes (the others, the scroll and the highlight stay:
        # rebuilding every option cost each save's redraw a whole picker, with dozens of configs)
        option_id = f"k{self.current}"
        try:
            option = self.get_option(option_id)
        except Exception:  # noqa: BLE001 - OptionDoesNotExist: not listed (it always is; if not, rebuilt)
            self._render_options()
            return
        indent = "  " if str(option.prompt).startswith(" ") else ""
        self.replace_option_prompt(option_id, self._kernel_option(self.current, indent).prompt)

    def toggle_group(self, key: str) -> None:
        self.expanded.symmetric_difference_update({key})
        self._render_options()
        self.highlight_id(key)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if option_id.startswith("tuned:"):
            self.toggle_group(option_id)
        elif option_id.startswith("k"):
            self.post_message(self.Picked(self, int(option_id[1:])))

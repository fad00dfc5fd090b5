"""The script's kernels and their specializations, each with grid, warps, registers, shared
memory, spills and launch count; choosing one loads its levels."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from workbench.tui.format import kernel_facts, kernel_label


class KernelPicker(OptionList):
    DEFAULT_CSS = """
    KernelPicker { width: 36; height: 1fr; border: none; border-right: vkey $panel; }
    """

    class Picked(Message):
        def __init__(self, picker: "KernelPicker", index: int) -> None:
            super().__init__()
            self.picker = picker
            self.index = index

    def show_kernels(self, script: str, kernels: list[dict]) -> None:
        self.clear_options()
        options = []
        for i, entry in enumerate(kernels):
            label = Text(kernel_label(entry), style="bold")
            spec = entry.get("spec", {})
            if (spec.get("autotune") or {}).get("chosen") or spec.get("chosen"):
                label.append(" *", style="bold")
            label.append("\n" + kernel_facts(entry), style="dim" if "error" not in entry else "red")
            options.append(Option(label, id=f"k{i}"))
        self.add_options(options)
        self.border_title = script

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Picked(self, event.option_index))

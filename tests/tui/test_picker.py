"""The kernel picker: specializations told apart by their constexpr values and num_stages, an
autotuned kernel's configs grouped under it (the chosen one starred, the rest one Enter away),
and the facts of the version on screen. Entries are the runner's, from real captures."""

from __future__ import annotations

import re

import pytest
from textual.app import App, ComposeResult

from workbench.model.results import KernelEntry
from workbench.tui.format import constexpr_text, resource_cells, resource_facts
from workbench.tui.widgets.kernel_picker import KernelPicker

SUMMARY = {"num_warps": 4, "registers": 26, "shared": 0, "spill_stores": 0, "spill_loads": 0, "num_stages": 3}


def entries(capture) -> list[KernelEntry]:
    """The runner's open entries for the capture's specs, parsed as the app parses them."""
    return [KernelEntry.parse({"spec": s.to_json(), "launches": [lc.to_json() for lc in capture.launches_of(s.spec_id)],
                               "folder": f"/w/{s.folder_name}", "edit": f"/w/{s.folder_name}/edit",
                               "result": dict(SUMMARY, num_warps=s.options["num_warps"])}) for s in capture.specs]


class PickerApp(App):
    def __init__(self, kernels: list[KernelEntry]) -> None:
        super().__init__()
        self.kernels = kernels
        self.picked: list[int] = []

    def compose(self) -> ComposeResult:
        yield KernelPicker(id="picker")

    def on_mount(self) -> None:
        self.query_one(KernelPicker).show_kernels("script.py", self.kernels)
        self.query_one(KernelPicker).focus()

    def on_kernel_picker_picked(self, msg: KernelPicker.Picked) -> None:
        self.picked.append(msg.index)


def prompts(picker: KernelPicker) -> list[str]:
    return [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)]


def test_constexprs_and_stages_tell_specializations_apart(captures):
    spec = captures("flash_attention").specs[0].to_json()
    text = constexpr_text(spec)
    assert "BLOCK_M=64" in text and "BLOCK_N=32" in text and "HEAD_DIM=64" in text and "CAUSAL=False" in text
    assert "stages=2" in text
    # arguments Triton specialized to 1 are named together, once
    assert "stride_qk stride_kk stride_vk stride_ok =1" in text
    causal = dict(spec, constexprs=dict(spec["constexprs"], CAUSAL=True))
    assert constexpr_text(causal) != text and "CAUSAL=True" in constexpr_text(causal)


def test_version_facts_say_what_changed():
    v = dict(SUMMARY, num_warps=8, registers=40, spill_stores=2, spill_loads=1)
    assert resource_facts(v, SUMMARY) == "warps 4→8 · regs 26→40\nspills 0→3 · smem 0 B"
    assert resource_facts(SUMMARY) == "warps 4 · regs 26\nspills 0 · smem 0 B"
    assert resource_cells(v, SUMMARY) == ("4→8", "26→40", "0→3", "0")
    assert resource_facts({}) == "warps ? · regs ?\nspills ? · smem ? B"


@pytest.mark.asyncio
async def test_autotune_configs_grouped_under_the_kernel(captures):
    kernels = entries(captures("autotuned_add"))
    assert len(kernels) == 3
    app = PickerApp(kernels)
    async with app.run_test(size=(60, 40)) as pilot:
        picker = app.query_one(KernelPicker)
        shown = prompts(picker)
        # collapsed: the group line and the chosen config (starred), with its constexprs and stages
        assert len(shown) == 2
        assert shown[0].startswith("▸ scale_add_kernel") and "3 autotune configs" in shown[0]
        # (a spec id hashes the script's path: it differs between checkouts)
        assert re.search(r"★ scale_add_kernel-[0-9a-f]{8}\n", shown[1]) and "BLOCK_SIZE=256 stages=3" in shown[1]
        assert "warps 2" in shown[1]
        # Enter on the group shows every config, each with what differs
        picker.highlighted = 0
        await pilot.press("enter")
        shown = prompts(picker)
        assert len(shown) == 4 and shown[0].startswith("▾")
        assert [("BLOCK_SIZE=256" in p, "BLOCK_SIZE=1024" in p, "BLOCK_SIZE=4096" in p) for p in shown[1:]] == \
            [(True, False, False), (False, True, False), (False, False, True)]
        assert sum("★" in p for p in shown) == 1 and "warps 8" in shown[3]
        assert app.picked == []
        # Enter on a config picks it (by its index among the kernels)
        picker.highlighted = 3
        await pilot.press("enter")
        await pilot.pause()
        assert app.picked == [2]
        # the kernel on screen stays listed when its group is closed, and shows its version's facts
        picker.select_kernel(2)
        picker.toggle_group("tuned:scale_add_kernel")
        picker.show_version("3", dict(SUMMARY, num_warps=4, registers=40))
        shown = prompts(picker)
        assert len(shown) == 3 and "BLOCK_SIZE=4096" in shown[2]
        assert "v3:" in shown[2] and "warps 8→4" in shown[2] and "regs 26→40" in shown[2]
        assert picker.highlighted == 0


@pytest.mark.asyncio
async def test_a_new_version_redraws_only_the_kernel_on_screen(captures):
    """A result replaces the current kernel's line only: the other options, the highlight and the
    scroll stay (rebuilding every option for a version label cost a save's redraw its picker);
    the same version's facts again change nothing."""
    app = PickerApp(entries(captures("autotuned_add")))
    async with app.run_test(size=(60, 40)) as pilot:
        picker = app.query_one(KernelPicker)
        picker.toggle_group("tuned:scale_add_kernel")
        picker.select_kernel(1)
        picker.highlighted = 3
        await pilot.pause()
        before, was = [picker.get_option_at_index(i) for i in range(picker.option_count)], prompts(picker)
        picker.show_version("2", dict(SUMMARY, num_warps=8))
        after = [picker.get_option_at_index(i) for i in range(picker.option_count)]
        assert [a is b for a, b in zip(before, after)] == [True, True, True, True] and len(after) == 4
        assert "v2:" in str(after[2].prompt) and "v2:" not in was[2] and "warps 4→8" in str(after[2].prompt)
        assert picker.highlighted == 3 and prompts(picker)[:2] + prompts(picker)[3:] == was[:2] + was[3:]
        shown = prompts(picker)
        picker.show_version("2", dict(SUMMARY, num_warps=8))
        assert prompts(picker) == shown
        # back to the original: its line says no version
        picker.show_version("original", None)
        assert "v2:" not in prompts(picker)[2] and prompts(picker)[:2] == shown[:2]

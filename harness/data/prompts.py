"""The prompt text for sources that ship UI annotations but no prompt (AiTZ, AitW).

The model reads text only, so a screen's UI annotations must be rendered as text. This uses the
same style as the synthetic generator (:func:`harness.data.synthetic.render_prompt`), so a model
or a tokenizer length budget tuned on one source sees the same layout on another:

    Goal: <goal>. Screen: <title>. Previous: <action>. Elements: a ; x ; b button

``Screen:`` and ``Previous:`` are left out when the source does not provide them (neither AiTZ
nor AitW names the screen, and neither stores the previous action as text). Boxes are not part
of the prompt; they travel on :class:`~harness.data.types.Step` in the same order as the
elements.
"""

from __future__ import annotations

from collections.abc import Iterable

SEPARATOR = " ; "


def render_element(ui_type: str, text: str) -> str:
    """A TEXT element is its text; any other element is its text followed by its type in plain
    words (``("ICON_NAV_BAR_CIRCLE", "")`` -> ``nav bar circle``, ``("BUTTON", "OK")`` -> ``OK
    button``), because an icon's type is often all the screen says about it. Plain words keep
    prompts short: ``[ICON_NAV_BAR_CIRCLE]`` costs nine WordPiece tokens, ``nav bar circle``
    three, and prompt length is most of a CPU training step's cost."""
    if ui_type == "TEXT":
        return text or "text"
    kind = ui_type.lower().removeprefix("icon_").replace("_", " ")
    return f"{text} {kind}" if text else kind


def render_prompt(goal: str, elements: Iterable[tuple[str, str]], screen: str | None = None,
                  previous: str | None = None) -> str:
    """Goal, optional screen title and previous action, then the elements ``(ui_type, text)``
    in source order, joined with ``" ; "``. Nothing is reordered, dropped or deduplicated."""
    parts = [f"Goal: {goal}."]
    if screen is not None:
        parts.append(f"Screen: {screen}.")
    if previous is not None:
        parts.append(f"Previous: {previous}.")
    listed = SEPARATOR.join(render_element(ui, text) for ui, text in elements)
    parts.append(f"Elements: {listed}")
    return " ".join(parts)


__all__ = ["render_prompt", "render_element", "SEPARATOR"]

"""Binding each axis value to the code that implements it.

The axis table (:data:`harness.design.AXES`) is the one source of truth for an axis's values;
the behaviour of each value is a function or class registered in the module the table names as
the axis's ``where``::

    LOSSES = AxisRegistry("loss")

    @LOSSES.register("standard")
    def standard_loss(outputs, targets): ...

    LOSSES.check()      # last line of the module: runs when it is imported

``register`` refuses a value the table does not have, and ``check`` fails when the table has a
value that nothing implements, so a value added to only one of the two is an error at import
time, not a KeyError in the middle of a grid. The pattern follows the registries of timm
(``timm/models/_registry.py``: a decorator fills a dict, a listing, an error naming the unknown
key), with the difference that the allowed keys come from a table.
"""

from __future__ import annotations

import sys

from harness.errors import VariantError


class AxisMismatch(VariantError):
    """An axis's registry and the axis table disagree on its values."""


class AxisRegistry:
    """The implementations of one axis's values, keyed by value."""

    def __init__(self, axis: str, table: dict | None = None):
        if table is None:
            from harness.design import AXES as table
        if axis not in table:
            raise AxisMismatch(f"no axis {axis!r} in the axis table; axes: {list(table)}")
        self.axis = table[axis]
        self.module = sys._getframe(1).f_globals.get("__name__", "?")
        self._impls: dict = {}
        _REGISTRIES.setdefault(axis, []).append(self)

    def register(self, value, impl=None):
        """Bind ``value`` to ``impl``; used bare (``register(v, f)``) or as a decorator."""
        if value not in self.axis.choices:
            raise AxisMismatch(
                f"{self.module}: {self.axis.name}={value!r} is registered but the axis table "
                f"(harness/design.py) has no such value; its values: {list(self.axis.choices)}")
        if value in self._impls:
            raise AxisMismatch(f"{self.module}: {self.axis.name}={value!r} registered twice")

        def bind(target):
            self._impls[value] = target
            return target
        return bind if impl is None else bind(impl)

    def check(self) -> "AxisRegistry":
        """Fail unless every value of the axis has an implementation (call at import time)."""
        missing = [v for v in self.axis.choices if v not in self._impls]
        if missing:
            raise AxisMismatch(
                f"{self.module}: the axis table gives {self.axis.name} the value(s) "
                f"{missing!r} but nothing implements them here; register them with "
                f"@{self.axis.name.upper()}.register(value)")
        return self

    def __getitem__(self, value):
        try:
            return self._impls[value]
        except KeyError:
            raise AxisMismatch(f"{self.axis.name}={value!r} has no implementation; "
                               f"implemented: {list(self._impls)}") from None

    def __contains__(self, value) -> bool:
        return value in self._impls

    def values(self) -> list:
        return list(self._impls)


#: Every registry created, by axis name (the check that each axis is implemented reads it).
_REGISTRIES: dict[str, list[AxisRegistry]] = {}


def implementing_modules() -> dict[str, str]:
    """Axis name -> the module the axis table names as implementing it."""
    from harness.design import AXES
    return {name: axis.where for name, axis in AXES.items()}


def check_all_axes() -> None:
    """Import every implementing module and check that each axis has a complete registry there:
    the table's ``where`` is then a fact, not a comment."""
    import importlib
    for name, module in implementing_modules().items():
        importlib.import_module(module)
        registries = [r for r in _REGISTRIES.get(name, []) if r.module == module]
        if not registries:
            raise AxisMismatch(f"axis {name!r}: the axis table says {module} implements it, "
                               "but that module registers no AxisRegistry for it")
        for registry in registries:
            registry.check()

"""Variant registry, in the manner of timm and lm-evaluation-harness.

A variant is data: a name, a one-line purpose and a :class:`~harness.design.Design`. Register
with :func:`register_variant` (a call, or a decorator on a function that returns a design);
list with :func:`list_variants`; select with :func:`select_variants` (``all``, names, groups,
comma lists, globs). Unknown names and duplicates are errors that say what exists.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.design import Design
from harness.errors import VariantError


@dataclass(frozen=True)
class Variant:
    name: str
    purpose: str
    design: Design
    source: str = "builtin"
    in_all: bool = True       # selected by ``--variants all`` (else only by name or glob)
    #: 0: dropout and batch order from the seed, as every design; else a second noise stream
    #: (same design, data and initial weights): the placebo comparison's second run
    noise_salt: int = 0

    def to_dict(self) -> dict:
        out = {"name": self.name, "purpose": self.purpose, "design": self.design.to_dict(),
               "source": self.source}
        if self.noise_salt:      # left out at 0, so earlier records stay as they were
            out["noise_salt"] = self.noise_salt
        return out


_REGISTRY: dict[str, Variant] = {}
#: Named groups of registered variants, selected by their name in ``--variants`` (a family too
#: large for ``all`` and with no common glob, such as fixed+X and corrected+X for every X).
_GROUPS: dict[str, tuple[str, ...]] = {}
_SOURCE = ["builtin"]   # where registrations come from right now (a user file while loading it)


def register_variant(name: str, purpose: str, design: Design | None = None,
                     in_all: bool = True, noise_salt: int = 0):
    """Register a variant. Without ``design``, returns a decorator for a function that builds it:

        @register_variant("fixed+lr_decay", "the fixed design with ...")
        def _():
            return FIXED.replace(warmup="none")
    """
    if design is None:
        def decorator(build):
            register_variant(name, purpose, build(), in_all, noise_salt)
            return build
        return decorator
    if not isinstance(name, str) or not name.strip():
        raise VariantError(f"a variant name must be a non-empty string, got {name!r}")
    if not isinstance(design, Design):
        raise VariantError(f"variant {name!r}: design must be a harness.design.Design, got "
                           f"{type(design).__name__}")
    if name in _REGISTRY:
        raise VariantError(f"variant {name!r} is already registered "
                           f"(by {_REGISTRY[name].source})")
    if name in _GROUPS:
        raise VariantError(f"variant {name!r}: a group of variants has that name")
    if isinstance(noise_salt, bool) or not isinstance(noise_salt, int) or noise_salt < 0:
        raise VariantError(f"variant {name!r}: noise_salt must be an integer >= 0, got "
                           f"{noise_salt!r}")
    if not purpose or "\n" in purpose:
        raise VariantError(f"variant {name!r}: the purpose must be one non-empty line")
    _REGISTRY[name] = Variant(name, purpose, design, _SOURCE[-1], in_all, noise_salt)
    return _REGISTRY[name]


def register_group(name: str, members: list[str]) -> None:
    """A name that :func:`select_variants` expands to ``members`` (registered variants, in that
    order). It may not shadow a variant or ``all``."""
    if name == "all" or name in _REGISTRY:
        raise VariantError(f"group {name!r} would shadow a variant of that name")
    if name in _GROUPS:
        raise VariantError(f"group {name!r} is already registered")
    unknown = [m for m in members if m not in _REGISTRY]
    if unknown:
        raise VariantError(f"group {name!r}: {unknown[0]!r} is not a registered variant")
    _GROUPS[name] = tuple(members)


def groups() -> dict[str, tuple[str, ...]]:
    """The registered groups: name -> its variants, in order."""
    return dict(_GROUPS)


def unregister_variant(name: str) -> None:
    _REGISTRY.pop(name, None)


def list_variants(pattern: str = "*") -> list[str]:
    """Registered names matching a glob, in registration order."""
    return [n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern)]


def get_variant(name: str) -> Variant:
    if name not in _REGISTRY:
        raise VariantError(unknown_message(name))
    return _REGISTRY[name]


def unknown_message(name: str) -> str:
    close = difflib.get_close_matches(name, list(_REGISTRY), n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown variant {name!r}{hint} (--list shows all {len(_REGISTRY)})"


def select_variants(spec: str) -> list[Variant]:
    """``all`` (every variant registered for it), a name, a group (:func:`register_group`), a
    glob (``fixed-*``), or a comma list of those; order of first mention, no duplicates. Every
    part must match something."""
    chosen: list[str] = []
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise VariantError("--variants is empty; pass 'all', names, globs or a comma list")
    for part in parts:
        if part == "all":
            names = [n for n in list_variants() if _REGISTRY[n].in_all]
        elif part in _GROUPS:
            names = list(_GROUPS[part])
        elif any(ch in part for ch in "*?["):
            names = list_variants(part)
            if not names:
                raise VariantError(f"no variant matches {part!r} (--list shows all)")
        else:
            names = [get_variant(part).name]
        chosen.extend(n for n in names if n not in chosen)
    return [_REGISTRY[n] for n in chosen]


def load_variants_file(path) -> list[Variant]:
    """Execute a user's Python file that calls ``register_variant``; return what it added.

    Only ever called for a file the user passed explicitly (``--variants-file``).
    """
    path = Path(path)
    if not path.is_file():
        raise VariantError(f"--variants-file {path}: no such file")
    before = set(_REGISTRY)
    module_name = f"_harness_user_variants_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise VariantError(f"--variants-file {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    _SOURCE.append(str(path))
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except VariantError as exc:
        raise VariantError(f"{path}: {exc}") from None
    except Exception as exc:  # the user's code: report it as their error, with its location
        raise VariantError(f"{path}: loading the variants file failed: "
                           f"{type(exc).__name__}: {exc}") from None
    finally:
        _SOURCE.pop()
    return [_REGISTRY[n] for n in _REGISTRY if n not in before]

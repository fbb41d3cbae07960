"""Variants: named designs. Importing the package registers the built-in ones."""

from variants.builtin import register_builtin_variants
from variants.registry import (Variant, get_variant, groups, list_variants, load_variants_file,
                               register_group, register_variant, select_variants,
                               unregister_variant)

register_builtin_variants()

__all__ = ["Variant", "get_variant", "groups", "list_variants", "load_variants_file",
           "register_group", "register_variant", "select_variants", "unregister_variant"]

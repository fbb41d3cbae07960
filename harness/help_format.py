"""``--help`` that says each option's default once.

argparse's ``ArgumentDefaultsHelpFormatter`` appends "(default: X)" to every option, also to
those whose help text already says the default in words ("a count, list or range (default 5)
(default: None)") and to those whose default only means "not given" (None, False, an empty
list), where the appended value says nothing a reader can use."""

from __future__ import annotations

import argparse


class DefaultsOnceHelpFormatter(argparse.HelpFormatter):
    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("default" in text.lower() or default is None or default is False
                or default == [] or default is argparse.SUPPRESS
                or not action.option_strings or action.nargs == 0):
            return text
        return f"{text} (default: %(default)s)"

#!/usr/bin/env python
"""Train the original and fixed designs and their ablations; see README.md and --help."""

import sys

from harness.cli import main

if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Train the original and fixed designs and their ablations; see README.md and --help."""

import sys

if __name__ == "__main__":
    # Imported here, not at the top: worker processes are spawned and import this file again
    # (as __mp_main__), and the CLI's imports would add seconds to each process's start.
    from harness.cli import main
    sys.exit(main())

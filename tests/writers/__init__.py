"""Writers that make data files in real formats for the tests; not part of the harness."""

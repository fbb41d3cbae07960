"""Generated bad inputs for the data readers, the file system and the command line.

Each generator module yields :class:`tests.fuzz.runner.Case` objects: a name, what the
readers promise for it (an error, a correct read, or either), and a function that writes the
input into a folder and says what to read. :mod:`tests.fuzz.runner` runs a case in-process with
a 10-second limit and classifies the outcome; :mod:`tests.fuzz.suite` gathers every family.
The generators are seeded, so the same code gives the same inputs and the same counts.
"""

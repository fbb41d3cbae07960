"""Errors that the command line reports as one clear message, no traceback: exit code 2 for
bad input, 3 for runs lost to the machine (:class:`RunsToRetry`)."""


class HarnessInputError(Exception):
    """Bad input from the user: arguments, data, variant files."""


class DataError(HarnessInputError):
    """A data set that cannot be used as it is."""

    @classmethod
    def at(cls, file, message: str, episode=None, step=None) -> "DataError":
        """An error that names the file, and the episode and step when known."""
        where = [str(file)]
        if episode is not None:
            where.append(f"episode {episode!r}")
        if step is not None:
            where.append(f"step {step}")
        return cls(", ".join(where) + ": " + message)


class VariantError(HarnessInputError):
    """An unknown variant name, a bad design value or a broken variants file."""


class RunsToRetry(Exception):
    """The command ended with runs lost to the machine (a dead worker, a full disk), not to
    their design: the message names each and its cause, the exit code is 3, and the same
    command again retries them (finished runs are kept)."""

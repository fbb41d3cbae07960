"""Data: the internal step type, readers and writers, the synthetic generator, tensors."""

"""Data: the internal step type, readers and writers, the synthetic generator and its world
(data files under ``world/``), tensors."""

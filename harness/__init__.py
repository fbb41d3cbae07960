"""Ablation and diagnostics harness for multi-head PyTorch training.

Data flows one way: configuration -> data (load or generate, validate, tokenize once)
-> for each (variant, seed): model + loss + backward strategy built from the variant's
design -> training loop -> records on disk -> summary.
"""

__version__ = "0.1.0"

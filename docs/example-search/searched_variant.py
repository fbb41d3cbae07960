# Written by `run_ablation.py --search greedy`: the design the search ended at
# (its runs in this folder are named 'original+coord_head=mlp+coord_units=screen').
from harness.design import ORIGINAL
from variants import register_variant

register_variant('searched', 'the design found by the greedy search', ORIGINAL.replace(coord_head='mlp', coord_units='screen'))

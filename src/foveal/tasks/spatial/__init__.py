"""Space and shape: relations, paths, symmetry, rotation, folding, reassembly and 3D stacks.

Helpers beside them: `_spatial` (cell-grid pictures and moves).
"""

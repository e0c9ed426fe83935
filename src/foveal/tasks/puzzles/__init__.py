"""Grid logic puzzles with a unique solution, proved by each family's solver (answer: the grid or one cell).

Helpers beside them: `_puzzle` (the `GridPuzzle` base, boards, binary-line search, Latin squares).
"""

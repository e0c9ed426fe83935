"""Abstract visual reasoning: continue a pattern, complete a matrix, find the odd one out."""

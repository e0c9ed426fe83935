"""Board games and sliding-tile play: a position, a best move, a forced outcome or a shortest solution."""

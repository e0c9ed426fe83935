"""Reading and computing quantities from a picture: counts, angles, areas, charts, clocks, tables, plots."""

"""Video families: several frames in order (motion, events, cause and effect, object permanence).

Helpers beside them: `_video` (frame grids, the frames' text twin, the mixed form).
"""

"""foveal.eval"""

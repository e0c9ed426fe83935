"""foveal.rewards"""

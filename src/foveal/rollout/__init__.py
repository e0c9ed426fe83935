"""foveal.rollout"""

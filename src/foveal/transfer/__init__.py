"""foveal.transfer"""

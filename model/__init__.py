"""Paddle side of the project: configs, text rendering, datasets, training, export.

Nothing here imports SCons; the SCons tool ``site_scons/site_tools/paddle_model.py``
runs these modules as subprocesses (``python -m model.train`` ...).
"""

"""Realism metrics, downstream classifier tests and the HTML report (`synthgen validate`).

Works on any synthetic image set against a real train/test pair of image sets.
"""

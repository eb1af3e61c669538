"""Memorization audit and filter for synthetic image sets (`synthgen audit`).

Compares every synthetic image with every training image of an image set in several embedding
spaces and flags near-copies; see README "Commands". Works on any two image sets.
"""

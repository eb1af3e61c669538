import numpy as np
import pytest

from synthgen.pixels import fit_square, rescale_to_dtype


def test_fit_square_keeps_an_image_of_the_target_size_bit_for_bit():
    pixels = np.arange(16 * 16, dtype=np.uint16).reshape(16, 16) * 200
    out = fit_square(pixels, 16)
    assert out.dtype == np.uint16 and np.array_equal(out, pixels)


def test_fit_square_area_averages_when_halving():
    pixels = np.array([[0, 2, 4, 6], [2, 4, 6, 8], [10, 10, 20, 20], [10, 10, 20, 20]], dtype=np.uint8)
    assert fit_square(pixels, 2).tolist() == [[2, 6], [10, 20]]


def test_fit_square_keeps_aspect_and_centre_pads_with_zero():
    pixels = np.full((4, 8), 200, dtype=np.uint8)
    out = fit_square(pixels, 8)
    assert out.shape == (8, 8)
    assert (out[:2] == 0).all() and (out[6:] == 0).all() and (out[2:6] == 200).all()


def test_fit_square_upscales_with_bilinear_within_range():
    pixels = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    out = fit_square(pixels, 4)
    assert out.dtype == np.uint8 and out.min() >= 0 and out.max() <= 255 and out.shape == (4, 4)
    assert out[0, 0] < out[0, 3]


def test_fit_square_rejects_float_input():
    with pytest.raises(ValueError, match="uint8 or uint16"):
        fit_square(np.zeros((4, 4), dtype=np.float32), 4)


def test_rescale_to_dtype_maps_range_ends_and_clips():
    out = rescale_to_dtype(np.array([-10.0, 0.0, 25.0, 100.0, 200.0]), 0.0, 100.0, np.uint8)
    assert out.tolist() == [0, 0, 64, 255, 255]
    assert rescale_to_dtype(np.array([5.0]), 3.0, 3.0, np.uint16).tolist() == [0]

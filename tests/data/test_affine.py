import torch
import torch.nn.functional as F

from trainlab.data.affine import affine_theta, sampling_grid, warp


def theta(height, width, **given):
    """affine_theta for one sample; parameters not given leave the image unchanged."""
    params = {
        "angle": torch.zeros(1),
        "shear": torch.zeros(1),
        "stretch": torch.ones(1, 2),
        "zoom": torch.ones(1),
        "crop": torch.zeros(1, 2),
        "shift": torch.zeros(1, 2),
    }
    params.update({k: torch.as_tensor(v, dtype=torch.float32) for k, v in given.items()})
    return affine_theta(**params, height=height, width=width)


def dot(height, width, row, col):
    image = torch.zeros(1, 1, height, width)
    image[0, 0, row, col] = 1.0
    return image


def test_neutral_parameters_leave_images_unchanged():
    image = torch.rand(1, 2, 6, 9)
    assert torch.allclose(warp(image, theta(6, 9)), image, atol=1e-6)


def test_shift_moves_a_pixel_by_whole_pixels_on_a_non_square_image():
    moved = warp(dot(6, 8, 1, 2), theta(6, 8, shift=[[3 / 8, 2 / 6]]))  # 3 px right, 2 down
    assert torch.nonzero(moved[0, 0] > 0.999).tolist() == [[3, 5]]
    assert moved.sum().item() == 1.0


def test_positive_angle_rotates_clockwise_as_displayed():
    image = torch.rand(1, 3, 7, 7)
    turned = warp(image, theta(7, 7, angle=[90.0]))
    assert torch.allclose(turned, torch.rot90(image, k=-1, dims=(2, 3)), atol=1e-5)


def test_rotation_keeps_distances_on_a_non_square_image():
    # 90 degrees on 5x9: the dot 2 px right of the centre lands 2 px below it.
    turned = warp(dot(5, 9, 2, 6), theta(5, 9, angle=[90.0]))
    assert torch.nonzero(turned[0, 0] > 0.999).tolist() == [[4, 4]]


def test_shear_shifts_rows_by_tan_angle_times_their_offset():
    sheared = warp(dot(7, 7, 5, 3), theta(7, 7, shear=[45.0]))  # 2 rows below the centre
    assert torch.nonzero(sheared[0, 0] > 0.999).tolist() == [[5, 5]]


def test_stretch_scales_the_content_about_the_centre():
    # x2 horizontally: the dot 1 px right of the centre of a 9x9 image goes 2 px right.
    stretched = warp(dot(9, 9, 4, 5), theta(9, 9, stretch=[[2.0, 1.0]]))
    assert stretched[0, 0, 4, 6].item() > 0.99


def test_zoom_into_a_corner_fills_the_image_with_that_quadrant():
    quadrants = torch.zeros(1, 1, 8, 8)
    quadrants[..., :4, 4:] = 1.0  # top-right quadrant bright
    zoomed = warp(quadrants, theta(8, 8, zoom=[2.0], crop=[[0.25, -0.25]]))
    # Only the outermost rows and columns blend, with the neighbours or the zero padding.
    assert torch.all(zoomed[0, 0, 1:7, 1:7] == 1.0)
    assert zoomed[0, 0, 7, 0].item() == 0.5625  # bottom-left corner: 3/4 * 3/4 of the quadrant


def test_one_matrix_per_sample():
    angles = torch.tensor([0.0, 90.0, 180.0])
    params = {
        "angle": angles,
        "shear": torch.zeros(3),
        "stretch": torch.ones(3, 2),
        "zoom": torch.ones(3),
        "crop": torch.zeros(3, 2),
        "shift": torch.zeros(3, 2),
    }
    matrices = affine_theta(**params, height=5, width=5)
    assert matrices.shape == (3, 2, 3)
    image = torch.rand(1, 1, 5, 5).expand(3, 1, 5, 5)
    out = warp(image, matrices)
    for sample, k in enumerate([0, -1, -2]):
        assert torch.allclose(out[sample], torch.rot90(image[0], k=k, dims=(1, 2)), atol=1e-5)


def test_sampling_grid_is_affine_grid_on_non_square_images():
    generator = torch.Generator().manual_seed(0)
    matrices = torch.randn(5, 2, 3, generator=generator)
    for height, width in ((28, 28), (6, 9), (1, 4)):
        expected = F.affine_grid(matrices, [5, 3, height, width], align_corners=False)
        assert torch.allclose(sampling_grid(matrices, height, width), expected, atol=1e-6)

"""synthgen: synthetic, labelled, privacy-audited X-ray data sets.

The Python API mirrors the CLI: each `synthgen <command>` calls the function of the same name;
`synthgen.api` gathers them, one per stage (README, "Python API").
"""

__version__ = "0.1.0"

from synthgen.errors import SynthgenError  # noqa: E402
from synthgen.imageset import ImageSet, ImageSetWriter  # noqa: E402

__all__ = ["ImageSet", "ImageSetWriter", "SynthgenError", "__version__"]

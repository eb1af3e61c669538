"""Built-in procedural chest-radiograph phantom: labelled synthetic patients without any data.

    from synthgen.chest_phantom import phantom, PhantomGenerator
    image_set = phantom("data/phantom", n=600, size=64, seed=0)   # writes an image set
    generator = PhantomGenerator(seed=0, size=64)                 # or images in memory
    pixels = generator.images(generator.patient(0))

Modules: `canvas` (coordinates and drawing primitives), `anatomy` (a patient's chest),
`findings` (the labelled abnormalities), `render` (pose, exposure, noise, pixels), `generator`
(seeded patients), `write` (the image set).
"""

from synthgen.chest_phantom.anatomy import Anatomy
from synthgen.chest_phantom.findings import CLASSES, FINDINGS, NORMAL
from synthgen.chest_phantom.generator import PhantomGenerator, PhantomPatient, render_patient_images
from synthgen.chest_phantom.render import Acquisition
from synthgen.chest_phantom.write import DEFAULT_IMAGES, check_phantom_options, phantom

__all__ = [
    "CLASSES",
    "DEFAULT_IMAGES",
    "FINDINGS",
    "NORMAL",
    "Acquisition",
    "Anatomy",
    "PhantomGenerator",
    "PhantomPatient",
    "check_phantom_options",
    "phantom",
    "render_patient_images",
]

"""Writes small JPEG and PNG fixtures with Pillow (pip install pillow).

Each image is 8 wide and 6 high, pixel (x, y) = (30·x, 40·y, 200 − 20·x). The tests
decode the committed files with Heed's libjpeg/libpng reader and compare with these
values (exactly for PNG, within JPEG's loss for JPEG), so the reader is checked
against another implementation's encoder.
"""
import os

from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
image = Image.new("RGB", (8, 6))
for y in range(6):
    for x in range(8):
        image.putpixel((x, y), (30 * x, 40 * y, 200 - 20 * x))
image.save(os.path.join(here, "gradient.png"))
image.save(os.path.join(here, "gradient.jpg"), quality=100, subsampling=0)
image.convert("L").save(os.path.join(here, "gradient-grey.png"))
# Alpha 32·x: the reader drops it, leaving the same colours as gradient.png.
alpha = image.copy()
alpha.putalpha(Image.frombytes("L", (8, 6), bytes(32 * x for y in range(6) for x in range(8))))
alpha.save(os.path.join(here, "gradient-alpha.png"))

// Image decoding and encoding for Heed, over libjpeg(-turbo) and libpng.
//
// A C shim because libjpeg reports errors by longjmp, which Swift cannot catch:
// these functions contain the jump and return an error message instead.
#ifndef HEED_IMAGE_H
#define HEED_IMAGE_H

#include <stddef.h>

/// An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B).
typedef struct {
    int width;
    int height;
    unsigned char *pixels;  // width * height * 3 bytes, owned; free with heed_image_free
} heed_image;

/// Reads a JPEG or PNG file (told apart by their signatures) as 8-bit RGB; grey,
/// palette, 16-bit and alpha images are converted (alpha is dropped).
/// CMYK and YCCK JPEGs (Adobe's inverted CMYK included) are converted to RGB.
/// Only a regular file is opened (a FIFO would block), and an image of more than
/// `max_pixels` pixels is refused from its header, before its pixels are allocated.
/// Returns 0 on success; otherwise writes a one-line reason into `error`.
int heed_image_read(const char *path, size_t max_pixels, heed_image *image, char *error, size_t error_size);

/// Frees the pixels of an image filled by heed_image_read.
void heed_image_free(heed_image *image);

/// Writes 8-bit RGB pixels (width * height * 3 bytes) as a PNG file.
/// Returns 0 on success; otherwise writes a one-line reason into `error`.
int heed_png_write_rgb(const char *path, int width, int height, const unsigned char *pixels,
                       char *error, size_t error_size);

/// Writes 8-bit RGB pixels (width * height * 3 bytes) as a baseline JPEG of `quality` (1-100).
/// Returns 0 on success; otherwise writes a one-line reason into `error`.
int heed_jpeg_write_rgb(const char *path, int width, int height, const unsigned char *pixels, int quality,
                        char *error, size_t error_size);

#endif

#include "heed_image.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

// MARK: JPEG

struct jpeg_failure {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void jpeg_fail(j_common_ptr info) {
    struct jpeg_failure *failure = (struct jpeg_failure *)info->err;
    (*info->err->format_message)(info, failure->message);
    longjmp(failure->jump, 1);
}

// libjpeg's default prints warnings (corrupt data it recovered from) to stderr;
// a damaged file is an error to the caller instead, so warnings fail too.
static void jpeg_warn(j_common_ptr info, int level) {
    if (level < 0) jpeg_fail(info);
}

// Refuses an image of more pixels than `max_pixels` (a decompression bomb: a small
// file that decodes to gigabytes), from the size its header gives.
static int check_pixels(unsigned long width, unsigned long height, size_t max_pixels, char *error, size_t error_size) {
    if (height != 0 && width > max_pixels / height) {
        snprintf(error, error_size, "image of %lux%lu pixels is more than the limit of %zu (HEED_MAX_IMAGE_PIXELS)", width,
                 height, max_pixels);
        return -1;
    }
    return 0;
}

static int read_jpeg(FILE *file, size_t max_pixels, heed_image *image, char *error, size_t error_size) {
    struct jpeg_decompress_struct info;
    struct jpeg_failure failure;
    unsigned char *volatile pixels = NULL;
    info.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = jpeg_fail;
    failure.manager.emit_message = jpeg_warn;
    if (setjmp(failure.jump)) {
        snprintf(error, error_size, "corrupt JPEG: %s", failure.message);
        jpeg_destroy_decompress(&info);
        free(pixels);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_stdio_src(&info, file);
    jpeg_read_header(&info, TRUE);
    if (check_pixels(info.image_width, info.image_height, max_pixels, error, error_size) != 0) {
        jpeg_destroy_decompress(&info);
        return -1;
    }
    // libjpeg converts grey and YCbCr to RGB, but not CMYK or YCCK: those are read as
    // CMYK (libjpeg turns YCCK into CMYK) and converted here.
    const int cmyk = info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK;
    info.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&info);
    const size_t stride = (size_t)info.output_width * 3;
    pixels = malloc(stride * info.output_height + (cmyk ? (size_t)info.output_width : 0));
    if (!pixels) {
        snprintf(error, error_size, "out of memory for a %ux%u image", info.output_width, info.output_height);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = pixels + stride * info.output_scanline;
        if (!cmyk) {
            jpeg_read_scanlines(&info, &row, 1);
            continue;
        }
        // A CMYK row is 4 bytes a pixel: read it into this row and the one after it
        // (the extra width bytes at the end cover the last row), then convert in place,
        // front to back, writing 3 bytes for each 4 read. Adobe's files store CMYK
        // inverted (255 is no ink), as Photoshop writes them and Pillow reads them.
        jpeg_read_scanlines(&info, &row, 1);
        const int inverted = info.saw_Adobe_marker;
        for (size_t x = 0; x < info.output_width; x++) {
            unsigned c = row[4 * x], m = row[4 * x + 1], y = row[4 * x + 2], k = row[4 * x + 3];
            if (!inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
            row[3 * x] = (unsigned char)((c * k + 127) / 255);
            row[3 * x + 1] = (unsigned char)((m * k + 127) / 255);
            row[3 * x + 2] = (unsigned char)((y * k + 127) / 255);
        }
    }
    jpeg_finish_decompress(&info);
    image->width = (int)info.output_width;
    image->height = (int)info.output_height;
    image->pixels = pixels;
    jpeg_destroy_decompress(&info);
    return 0;
}

// MARK: PNG (libpng's simplified API: no longjmp to handle)

static int read_png(FILE *file, size_t max_pixels, heed_image *image, char *error, size_t error_size) {
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(&png, file)) {
        snprintf(error, error_size, "corrupt PNG: %s", png.message);
        return -1;
    }
    if (check_pixels(png.width, png.height, max_pixels, error, error_size) != 0) {
        png_image_free(&png);
        return -1;
    }
    // Without a background, the simplified API composites alpha onto the buffer's
    // (uninitialised) contents; reading RGBA and packing to RGB drops alpha instead.
    const int has_alpha = (png.format & PNG_FORMAT_FLAG_ALPHA) != 0;
    png.format = has_alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
    unsigned char *pixels = malloc(PNG_IMAGE_SIZE(png));
    if (!pixels) {
        png_image_free(&png);
        snprintf(error, error_size, "out of memory for a %ux%u image", png.width, png.height);
        return -1;
    }
    if (!png_image_finish_read(&png, NULL, pixels, 0, NULL)) {
        snprintf(error, error_size, "corrupt PNG: %s", png.message);
        free(pixels);
        return -1;
    }
    if (has_alpha) {
        for (size_t i = 0; i < (size_t)png.width * png.height; i++) memmove(pixels + 3 * i, pixels + 4 * i, 3);
    }
    image->width = (int)png.width;
    image->height = (int)png.height;
    image->pixels = pixels;
    return 0;
}

// MARK: Entry points

int heed_image_read(const char *path, size_t max_pixels, heed_image *image, char *error, size_t error_size) {
    image->width = image->height = 0;
    image->pixels = NULL;
    // Opened without blocking and checked before reading: a FIFO would wait forever.
    const int descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (descriptor < 0) {
        snprintf(error, error_size, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat info;
    if (fstat(descriptor, &info) != 0 || !S_ISREG(info.st_mode)) {
        snprintf(error, error_size, "not a regular file");
        close(descriptor);
        return -1;
    }
    FILE *file = fdopen(descriptor, "rb");
    if (!file) {
        snprintf(error, error_size, "cannot open: %s", strerror(errno));
        close(descriptor);
        return -1;
    }
    unsigned char signature[8] = {0};
    const size_t got = fread(signature, 1, sizeof signature, file);
    int status;
    if (got >= 3 && signature[0] == 0xFF && signature[1] == 0xD8 && signature[2] == 0xFF) {
        rewind(file);
        status = read_jpeg(file, max_pixels, image, error, error_size);
    } else if (got == 8 && png_sig_cmp(signature, 0, 8) == 0) {
        rewind(file);
        status = read_png(file, max_pixels, image, error, error_size);
    } else {
        snprintf(error, error_size, "not a JPEG or PNG file");
        status = -1;
    }
    fclose(file);
    return status;
}

void heed_image_free(heed_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}

int heed_png_write_rgb(const char *path, int width, int height, const unsigned char *pixels,
                       char *error, size_t error_size) {
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = (png_uint_32)width;
    png.height = (png_uint_32)height;
    png.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&png, path, 0, pixels, 0, NULL)) {
        snprintf(error, error_size, "cannot write PNG: %s", png.message);
        return -1;
    }
    return 0;
}

// MARK: JPEG writing (benchmark data: photo-sized JPEGs generated on the spot)

int heed_jpeg_write_rgb(const char *path, int width, int height, const unsigned char *pixels, int quality,
                        char *error, size_t error_size) {
    FILE *file = fopen(path, "wb");
    if (file == NULL) {
        snprintf(error, error_size, "cannot create: %s", strerror(errno));
        return -1;
    }
    struct jpeg_compress_struct info;
    struct jpeg_failure failure;
    info.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = jpeg_fail;
    if (setjmp(failure.jump)) {
        snprintf(error, error_size, "cannot write JPEG: %s", failure.message);
        jpeg_destroy_compress(&info);
        fclose(file);
        return -1;
    }
    jpeg_create_compress(&info);
    jpeg_stdio_dest(&info, file);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = 3;
    info.in_color_space = JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)info.next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    if (fclose(file) != 0) {
        snprintf(error, error_size, "cannot write: %s", strerror(errno));
        return -1;
    }
    return 0;
}

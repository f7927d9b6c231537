#include "heed_image.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int read_jpeg(FILE *file, heed_image *image, char *error, size_t error_size) {
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
    info.out_color_space = JCS_RGB;  // grey and CMYK/YCCK are converted by libjpeg
    jpeg_start_decompress(&info);
    const size_t stride = (size_t)info.output_width * 3;
    pixels = malloc(stride * info.output_height);
    if (!pixels) {
        snprintf(error, error_size, "out of memory for a %ux%u image", info.output_width, info.output_height);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = pixels + stride * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    image->width = (int)info.output_width;
    image->height = (int)info.output_height;
    image->pixels = pixels;
    jpeg_destroy_decompress(&info);
    return 0;
}

// MARK: PNG (libpng's simplified API: no longjmp to handle)

static int read_png(const char *path, heed_image *image, char *error, size_t error_size) {
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&png, path)) {
        snprintf(error, error_size, "corrupt PNG: %s", png.message);
        return -1;
    }
    png.format = PNG_FORMAT_RGB;
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
    image->width = (int)png.width;
    image->height = (int)png.height;
    image->pixels = pixels;
    return 0;
}

// MARK: Entry points

int heed_image_read(const char *path, heed_image *image, char *error, size_t error_size) {
    image->width = image->height = 0;
    image->pixels = NULL;
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(error, error_size, "cannot open: %s", strerror(errno));
        return -1;
    }
    unsigned char signature[8] = {0};
    const size_t got = fread(signature, 1, sizeof signature, file);
    int status;
    if (got >= 3 && signature[0] == 0xFF && signature[1] == 0xD8 && signature[2] == 0xFF) {
        rewind(file);
        status = read_jpeg(file, image, error, error_size);
    } else if (got == 8 && png_sig_cmp(signature, 0, 8) == 0) {
        status = read_png(path, image, error, error_size);
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

// libFuzzer harness for the JPEG and PNG decoders behind heed_image_read.
//
// heed_image_read takes a path and opens only regular files, so each input is
// written to one temporary file per process and read back through the public API;
// the signature check then routes it to the JPEG or the PNG decoder.
#include "heed_image.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

// A cap like the trainer's, so a header promising a huge image is refused rather
// than allocated: the harness looks for memory errors, not out-of-memory.
enum { max_pixels = 4096 * 4096 };

static char path[64];

static void remove_input(void) { unlink(path); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (path[0] == '\0') {
        snprintf(path, sizeof path, "/tmp/heed-fuzz-image-%ld", (long)getpid());
        atexit(remove_input);
    }
    FILE *file = fopen(path, "wb");
    if (file == NULL) abort();
    if (size > 0 && fwrite(data, 1, size, file) != size) abort();
    fclose(file);

    heed_image image = {0};
    char error[256];
    if (heed_image_read(path, max_pixels, &image, error, sizeof error) == 0) {
        // Touch every pixel so a short buffer shows up under AddressSanitizer.
        volatile unsigned char sum = 0;
        for (size_t i = 0; i < (size_t)image.width * image.height * 3; i++) sum ^= image.pixels[i];
        heed_image_free(&image);
    }
    return 0;
}

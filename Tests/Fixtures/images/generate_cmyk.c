// Writes gradient-cmyk.jpg: the gradient of generate.py as an Adobe (inverted) CMYK JPEG,
// as Photoshop writes them (libjpeg adds the Adobe marker for CMYK). Build and run:
// cc generate_cmyk.c -ljpeg -o /tmp/generate_cmyk && /tmp/generate_cmyk gradient-cmyk.jpg
#include <stdio.h>
#include <jpeglib.h>
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "wb");
    struct jpeg_compress_struct c; struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e); jpeg_create_compress(&c); jpeg_stdio_dest(&c, out);
    c.image_width = 8; c.image_height = 6; c.input_components = 4; c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c); jpeg_set_quality(&c, 100, TRUE);
    for (int i = 0; i < c.num_components; i++) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE);
    unsigned char row[8 * 4];
    for (int y = 0; y < 6; y++) {
        for (int x = 0; x < 8; x++) {
            int rgb[3] = {30 * x, 40 * y, 200 - 20 * x}, max = 0;
            for (int i = 0; i < 3; i++) if (rgb[i] > max) max = rgb[i];
            // Adobe (inverted) CMYK: 255 is no ink; K from the brightest channel.
            for (int i = 0; i < 3; i++) row[4 * x + i] = max ? (unsigned char)(255 * rgb[i] / max) : 255;
            row[4 * x + 3] = (unsigned char)max;
        }
        JSAMPROW p = row; jpeg_write_scanlines(&c, &p, 1);
    }
    jpeg_finish_compress(&c); fclose(out); return 0;
}

/* SPDX-License-Identifier: MIT */
/* A C program using the installed fmtsim through pkg-config: formats, strided quantize, encode/decode,
   errors, tensor quantizers with state. Expected values come from the format definitions (formats.md). */
#include <fmtsim/fmtsim.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      printf("FAIL line %d: %s (%s)\n", __LINE__, #cond, fmtsim_last_error()); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

static int same_bits_f(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

int main(void) {
  fmtsim_format* e4m3 = NULL;
  fmtsim_format* e2m1 = NULL;
  fmtsim_format_info info;
  char name[64];
  size_t needed = 0;

  /* formats and their description */
  CHECK(fmtsim_format_create("float8_e4m3fn", &e4m3) == FMTSIM_OK);
  CHECK(fmtsim_format_describe(e4m3, &info) == FMTSIM_OK);
  CHECK(info.bits == 8 && info.exponent_bits == 4 && info.mantissa_bits == 3 && info.bias == 7);
  CHECK(info.max == 448.0 && info.min_normal == 1.0 / 64 && info.min_subnormal == 1.0 / 512);
  CHECK(!info.has_inf && info.has_nan && info.finite_values == 254 && info.float32_exact);
  CHECK(fmtsim_format_name(e4m3, name, sizeof name, &needed) == FMTSIM_OK && strcmp(name, "e4m3fn") == 0 &&
        needed == 7);
  CHECK(fmtsim_format_name(e4m3, name, 3, &needed) == FMTSIM_ERROR_BUFFER_TOO_SMALL && needed == 7);
  CHECK(fmtsim_format_create("e2m1fin", &e2m1) == FMTSIM_OK);

  /* errors: the parser's message, no exception */
  {
    fmtsim_format* bad = (fmtsim_format*)1;
    CHECK(fmtsim_format_create("e4m3x", &bad) == FMTSIM_ERROR_INVALID_ARGUMENT && bad == NULL);
    CHECK(strstr(fmtsim_last_error(), "invalid format spec 'e4m3x': at position 4") != NULL);
    CHECK(fmtsim_format_create(NULL, &bad) == FMTSIM_ERROR_NULL_POINTER);
    CHECK(strcmp(fmtsim_status_name(FMTSIM_ERROR_ELEMENT), "element error") == 0);
  }

  /* quantize a transposed 2x3 float32 view (strides in elements), ties to even, overflow to NaN */
  {
    /* memory (3x2, C order); the 2x3 view is its transpose */
    float mem[6] = {1.3f, 2.5f, 448.0f, 500.0f, -0.0f, 0.0009765625f}; /* last: half the smallest subnormal */
    float out[6];
    int64_t shape[2] = {2, 3}, strides[2] = {1, 2};
    fmtsim_tensor in = {mem, FMTSIM_FLOAT32, 2, shape, strides};
    fmtsim_tensor o = {out, FMTSIM_FLOAT32, 2, shape, NULL};
    fmtsim_options opt;
    fmtsim_options_init(&opt);
    CHECK(fmtsim_quantize(e4m3, &in, &o, &opt, NULL) == FMTSIM_OK);
    /* view element (i, j) = mem[i + 2 j]: row 0 = 1.3, 448, -0 ; row 1 = 2.5, 500, 2^-10 */
    CHECK(out[0] == 1.25f && out[1] == 448.0f && same_bits_f(out[2], -0.0f));
    CHECK(out[3] == 2.5f && isnan(out[4]) && same_bits_f(out[5], 0.0f)); /* 2^-10: tie of 0 and 2^-9 -> even 0 */
    opt.saturate = 1;
    CHECK(fmtsim_quantize(e4m3, &in, &o, &opt, NULL) == FMTSIM_OK && out[4] == 448.0f);
    opt.saturate = 0;
    opt.rounding = "rtz";
    CHECK(fmtsim_quantize(e4m3, &in, &o, &opt, NULL) == FMTSIM_OK && out[4] == 448.0f && out[0] == 1.25f);
    opt.rounding = "nearest";
    CHECK(fmtsim_quantize(e4m3, &in, &o, &opt, NULL) == FMTSIM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(fmtsim_last_error(), "unknown rounding mode 'nearest'") != NULL);
  }

  /* float64, e2m1fin ties to even: 0.25 -> 0, 2.5 -> 2, 5 -> 4, 7 -> 6; encode/decode round trip */
  {
    double x[5] = {0.25, 2.5, 5.0, 7.0, -1.5}, q[5], d[5];
    uint8_t c[5];
    int64_t n = 5;
    fmtsim_tensor in = {x, FMTSIM_FLOAT64, 1, &n, NULL}, qo = {q, FMTSIM_FLOAT64, 1, &n, NULL};
    fmtsim_tensor co = {c, FMTSIM_UINT8, 1, &n, NULL}, dout = {d, FMTSIM_FLOAT64, 1, &n, NULL};
    CHECK(fmtsim_quantize(e2m1, &in, &qo, NULL, NULL) == FMTSIM_OK);
    CHECK(q[0] == 0.0 && q[1] == 2.0 && q[2] == 4.0 && q[3] == 6.0 && q[4] == -1.5);
    CHECK(fmtsim_encode(e2m1, &in, &co, NULL, NULL) == FMTSIM_OK);
    CHECK(c[0] == 0 && c[1] == 4 && c[2] == 6 && c[3] == 7 && c[4] == 0x8 + 3);
    CHECK(fmtsim_decode(e2m1, &co, &dout) == FMTSIM_OK && memcmp(d, q, sizeof d) == 0);
    c[2] = 16;
    CHECK(fmtsim_decode(e2m1, &co, &dout) == FMTSIM_ERROR_ELEMENT);
    CHECK(strstr(fmtsim_last_error(), "element 2: code 16 is not a code of format e2m1fin") != NULL);
    x[3] = NAN;
    CHECK(fmtsim_encode(e2m1, &in, &co, NULL, NULL) == FMTSIM_ERROR_ELEMENT);
    CHECK(strstr(fmtsim_last_error(), "element 3 is NaN") != NULL);
  }

  /* hysteresis against the previous values: e4m3fn grid near 1 is 0.125 */
  {
    float w[3] = {1.2f, 1.05f, 1.26f}, prev[3] = {1.0f, 1.0f, 1.0f}, out[3];
    int64_t n = 3;
    fmtsim_tensor in = {w, FMTSIM_FLOAT32, 1, &n, NULL}, o = {out, FMTSIM_FLOAT32, 1, &n, NULL};
    fmtsim_tensor p = {prev, FMTSIM_FLOAT32, 1, &n, NULL};
    fmtsim_options opt;
    fmtsim_options_init(&opt);
    opt.rounding = "hys";
    CHECK(fmtsim_quantize(e4m3, &in, &o, &opt, NULL) == FMTSIM_ERROR_INVALID_ARGUMENT);
    CHECK(fmtsim_quantize(e4m3, &in, &o, &opt, &p) == FMTSIM_OK);
    CHECK(out[0] == 1.125f && out[1] == 1.0f && out[2] == 1.25f);
  }

  /* tensor quantizer: MX block of 32 with an E8M0 scale 2^(floor(log2 amax) - 8) */
  {
    fmtsim_quantizer_config cfg;
    fmtsim_quantizer* mx = NULL;
    float x[64], out[64];
    int64_t shape[2] = {2, 32};
    fmtsim_stats st;
    int32_t scales[4];
    size_t count = 0;
    int i;
    for (i = 0; i < 64; ++i) x[i] = (float)(i % 32) * (i < 32 ? 1.0f : 1.0f / 1024);
    fmtsim_quantizer_config_init(&cfg);
    cfg.spec = "mxfp8_e4m3";
    CHECK(fmtsim_quantizer_create(&cfg, NULL, &mx) == FMTSIM_OK);
    {
      fmtsim_tensor in = {x, FMTSIM_FLOAT32, 2, shape, NULL}, o = {out, FMTSIM_FLOAT32, 2, shape, NULL};
      CHECK(fmtsim_quantizer_quantize(mx, &in, &o, &st) == FMTSIM_OK);
    }
    CHECK(st.elements == 64 && st.groups == 2);
    CHECK(st.bits_per_element == 8.0 + 8.0 / 32);
    CHECK(fmtsim_quantizer_scales(mx, scales, 4, &count) == FMTSIM_OK && count == 2);
    /* block 0: amax 31 -> floor(log2 31) = 4 -> scale 2^(4-8); block 1: amax 31/1024 -> 2^(-6-8) */
    CHECK(scales[0] == 4 - 8 && scales[1] == -6 - 8);
    /* 17 / 2^-4 = 272: e4m3fn grid on [256, 512) is 32 -> 256 or 288, 272 is the tie -> 256 (even) -> 16.
       30 / 2^-4 = 480 > 448 = max: MX elements saturate -> 448 * 2^-4 = 28 (OCP MX clips the block maximum). */
    CHECK(out[17] == 16.0f && out[30] == 28.0f && out[31] == 28.0f && out[3] == 3.0f);
    CHECK(out[32 + 17] == 16.0f / 1024 && out[32 + 31] == 28.0f / 1024);
    fmtsim_quantizer_destroy(mx);
  }

  /* tracking quantizer: state save/restore continues identically */
  {
    fmtsim_quantizer_config cfg;
    fmtsim_quantizer *a = NULL, *b = NULL;
    float x[8] = {0.1f, -0.7f, 0.3f, 0.05f, 0.9f, -0.2f, 0.6f, 0.01f}, y[8], o1[8], o2[8];
    int64_t n = 8;
    char state[4096];
    int i, k;
    fmtsim_quantizer_config_init(&cfg);
    cfg.spec = "fp134";
    cfg.room = 1;
    cfg.has_room = 1;
    cfg.tracking = 1;
    CHECK(fmtsim_quantizer_create(&cfg, NULL, &a) == FMTSIM_OK);
    CHECK(fmtsim_quantizer_create(&cfg, NULL, &b) == FMTSIM_OK);
    for (k = 0; k < 3; ++k) {
      fmtsim_tensor in = {x, FMTSIM_FLOAT32, 1, &n, NULL}, o = {o1, FMTSIM_FLOAT32, 1, &n, NULL};
      for (i = 0; i < 8; ++i) x[i] *= 4.0f;
      CHECK(fmtsim_quantizer_quantize(a, &in, &o, NULL) == FMTSIM_OK);
    }
    CHECK(fmtsim_quantizer_save_state(a, state, sizeof state, &needed) == FMTSIM_OK && needed > 2);
    CHECK(fmtsim_quantizer_load_state(b, state) == FMTSIM_OK);
    for (i = 0; i < 8; ++i) y[i] = x[i] * 3.0f;
    {
      fmtsim_tensor in = {y, FMTSIM_FLOAT32, 1, &n, NULL};
      fmtsim_tensor oa = {o1, FMTSIM_FLOAT32, 1, &n, NULL}, ob = {o2, FMTSIM_FLOAT32, 1, &n, NULL};
      CHECK(fmtsim_quantizer_quantize(a, &in, &oa, NULL) == FMTSIM_OK);
      CHECK(fmtsim_quantizer_quantize(b, &in, &ob, NULL) == FMTSIM_OK);
      CHECK(memcmp(o1, o2, sizeof o1) == 0);
    }
    CHECK(fmtsim_quantizer_load_state(b, "{not json") != FMTSIM_OK);
    fmtsim_quantizer_destroy(a);
    fmtsim_quantizer_destroy(b);
  }

  fmtsim_format_destroy(e4m3);
  fmtsim_format_destroy(e2m1);
  printf("fmtsim %s C API: %s\n", fmtsim_version(), failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/* C API: real-scaled families through fmtsim_quantizer_create (asym, scq, sign, sbin, agp, smaq, s2fp8),
   code and container packing, and the error codes and messages for bad input. Expected values are worked
   out by hand from methods.md (FracTrain min/max grid, 1-bit mean |x|, AGP top-ceil(N/B) selection). */
#include <fmtsim/fmtsim.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      printf("FAIL line %d: %s (%s)\n", __LINE__, #cond, fmtsim_last_error()); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

static fmtsim_quantizer* make(const char* spec, const char* groups, const char* rounding, uint64_t seed) {
  fmtsim_quantizer_config c;
  fmtsim_options o;
  fmtsim_quantizer* q = NULL;
  fmtsim_quantizer_config_init(&c);
  fmtsim_options_init(&o);
  c.spec = spec;
  c.groups = groups;
  o.rounding = rounding;
  o.seed = seed;
  if (fmtsim_quantizer_create(&c, &o, &q) != FMTSIM_OK) printf("create %s: %s\n", spec, fmtsim_last_error());
  return q;
}

int main(void) {
  char text[256];
  size_t needed = 0;

  /* asym2: lo = 0, hi = 3, step 1; ties 0.5, 1.5, 2.5 go to the even codes 0, 2, 2; 1.2 -> 1 */
  {
    float x[6] = {0.0f, 3.0f, 0.5f, 1.5f, 2.5f, 1.2f}, y[6];
    int64_t shape[1] = {6};
    fmtsim_tensor in = {x, FMTSIM_FLOAT32, 1, shape, NULL}, out = {y, FMTSIM_FLOAT32, 1, shape, NULL};
    fmtsim_quantizer* q = make("asym2", NULL, NULL, 0);
    fmtsim_stats st;
    CHECK(q != NULL);
    CHECK(fmtsim_quantizer_quantize(q, &in, &out, &st) == FMTSIM_OK);
    CHECK(y[0] == 0 && y[1] == 3 && y[2] == 0 && y[3] == 2 && y[4] == 2 && y[5] == 1);
    CHECK(st.elements == 6 && st.groups == 1);
    CHECK(fmtsim_quantizer_describe(q, text, sizeof text, &needed) == FMTSIM_OK &&
          strcmp(text, "asym2 groups=tensor") == 0);
    /* families keep no state */
    CHECK(fmtsim_quantizer_save_state(q, text, sizeof text, &needed) == FMTSIM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(fmtsim_last_error(), "keeps no state") != NULL);
    /* a float64 value that is no float32 value: the min/max are stored as float32 */
    {
      double xd[2] = {0.1, 0.2}, yd[2];
      int64_t s2[1] = {2};
      fmtsim_tensor ind = {xd, FMTSIM_FLOAT64, 1, s2, NULL}, outd = {yd, FMTSIM_FLOAT64, 1, s2, NULL};
      CHECK(fmtsim_quantizer_quantize(q, &ind, &outd, NULL) == FMTSIM_ERROR_INVALID_ARGUMENT);
      CHECK(strstr(fmtsim_last_error(), "is not a float32 value") != NULL);
    }
    fmtsim_quantizer_destroy(q);
  }

  /* scq1:dx on a transposed view: per-sample (row) groups; 1 bit gives each row's min or max */
  {
    /* memory 3x2 (C order); the 2x3 view (strides 1, 2) has rows {1, 2, 5} and {4, 8, 6} */
    float mem[6] = {1, 4, 2, 8, 5, 6}, y[6];
    int64_t shape[2] = {2, 3}, strides[2] = {1, 2};
    fmtsim_tensor in = {mem, FMTSIM_FLOAT32, 2, shape, strides}, out = {y, FMTSIM_FLOAT32, 2, shape, NULL};
    fmtsim_quantizer* q = make("scq1:dx", NULL, NULL, 0);
    CHECK(fmtsim_quantizer_quantize(q, &in, &out, NULL) == FMTSIM_OK);
    /* row 1: 6 is the tie (6 - 4) / 4 = 1/2 and goes to the even code 0, i.e. 4 */
    CHECK(y[0] == 1 && y[1] == 1 && y[2] == 5 && y[3] == 4 && y[4] == 8 && y[5] == 4);
    /* a vector is no matrix */
    {
      int64_t s1[1] = {6};
      fmtsim_tensor v = {mem, FMTSIM_FLOAT32, 1, s1, NULL}, vo = {y, FMTSIM_FLOAT32, 1, s1, NULL};
      CHECK(fmtsim_quantizer_quantize(q, &v, &vo, NULL) == FMTSIM_ERROR_INVALID_ARGUMENT);
      CHECK(strstr(fmtsim_last_error(), "must be a matrix") != NULL);
    }
    fmtsim_quantizer_destroy(q);
  }

  /* sign per row: mean |x| of {1, -2, 0, 5} = 2, of {-1, -1, -1, 1} = 1; sign(0) = +1 */
  {
    float x[8] = {1, -2, 0, 5, -1, -1, -1, 1}, y[8];
    int64_t shape[2] = {2, 4};
    fmtsim_tensor in = {x, FMTSIM_FLOAT32, 2, shape, NULL}, out = {y, FMTSIM_FLOAT32, 2, shape, NULL};
    fmtsim_quantizer* q = make("sign", "channel:0", NULL, 0);
    CHECK(fmtsim_quantizer_quantize(q, &in, &out, NULL) == FMTSIM_OK);
    CHECK(y[0] == 2 && y[1] == -2 && y[2] == 2 && y[3] == 2 && y[4] == -1 && y[7] == 1);
    fmtsim_quantizer_destroy(q);
  }

  /* sbin: every output is +-max|x|, and the mean of many is near x (0.5 of a = 2: P(+2) = 0.625) */
  {
    enum { N = 100001 };
    float* x = malloc(sizeof(float) * N);
    float* y = malloc(sizeof(float) * N);
    int64_t shape[1] = {N};
    double sum = 0;
    int binary = 1;
    fmtsim_tensor in = {x, FMTSIM_FLOAT32, 1, shape, NULL}, out = {y, FMTSIM_FLOAT32, 1, shape, NULL};
    fmtsim_quantizer* q = make("sbin", NULL, "sr", 17);
    for (int i = 0; i < N; ++i) x[i] = 0.5f;
    x[0] = -2.0f;
    CHECK(fmtsim_quantizer_quantize(q, &in, &out, NULL) == FMTSIM_OK);
    for (int i = 1; i < N; ++i) {
      sum += y[i];
      if (y[i] != 2.0f && y[i] != -2.0f) binary = 0;
    }
    CHECK(binary && y[0] == -2.0f);
    CHECK(fabs(sum / (N - 1) - 0.5) < 0.02); /* sd of the mean ~ 0.006 */
    fmtsim_quantizer_destroy(q);
    free(x);
    free(y);
  }

  /* agp2:det over 4 samples of 2: keeps the ceil(4/2) = 2 widest (samples 1 and 3), zeros the others */
  {
    float x[8] = {0, 1, 0, 10, 0, 2, 0, 5}, y[8];
    uint8_t kept[4] = {9, 9, 9, 9};
    size_t count = 0;
    double alpha = 0, beta = 0;
    int64_t shape[2] = {4, 2};
    fmtsim_tensor in = {x, FMTSIM_FLOAT32, 2, shape, NULL}, out = {y, FMTSIM_FLOAT32, 2, shape, NULL};
    fmtsim_quantizer* q = make("agp2:det", NULL, NULL, 0);
    CHECK(fmtsim_quantizer_quantize(q, &in, &out, NULL) == FMTSIM_OK);
    CHECK(y[0] == 0 && y[1] == 0 && y[2] == 0 && y[3] == 10 && y[4] == 0 && y[5] == 0 && y[7] == 5);
    CHECK(fmtsim_quantizer_family_params(q, &alpha, &beta, kept, 4, &count) == FMTSIM_OK);
    CHECK(count == 4 && kept[0] == 0 && kept[1] == 1 && kept[2] == 0 && kept[3] == 1 && alpha == 1 && beta == 0);
    fmtsim_quantizer_destroy(q);
  }

  /* s2fp8: x = {1, 2, 4, 8}: log2 = 0..3, mu = 1.5, m = 3, alpha = 10, beta = -15 */
  {
    float x[4] = {1, 2, 4, 8}, y[4];
    double alpha = 0, beta = 0;
    int64_t shape[1] = {4};
    fmtsim_tensor in = {x, FMTSIM_FLOAT32, 1, shape, NULL}, out = {y, FMTSIM_FLOAT32, 1, shape, NULL};
    fmtsim_quantizer* q = make("s2fp8", NULL, NULL, 0);
    CHECK(fmtsim_quantizer_quantize(q, &in, &out, NULL) == FMTSIM_OK);
    CHECK(fmtsim_quantizer_family_params(q, &alpha, &beta, NULL, 0, NULL) == FMTSIM_OK);
    CHECK(alpha == 10 && beta == -15);
    /* the stored values 2^-15, 2^-5, 2^5, 2^15 are e5m2 values: the round trip is exact */
    CHECK(y[0] == 1 && y[1] == 2 && y[2] == 4 && y[3] == 8);
    fmtsim_quantizer_destroy(q);
  }

  /* family configuration errors */
  {
    fmtsim_quantizer_config c;
    fmtsim_options o;
    fmtsim_quantizer* q = (fmtsim_quantizer*)1;
    fmtsim_quantizer_config_init(&c);
    fmtsim_options_init(&o);
    c.spec = "asym0";
    CHECK(fmtsim_quantizer_create(&c, &o, &q) == FMTSIM_ERROR_INVALID_ARGUMENT && q == NULL);
    CHECK(strstr(fmtsim_last_error(), "family spec 'asym0': the bit width must be an integer 1..16") != NULL);
    c.spec = "s2fp8";
    c.groups = "channel:0";
    CHECK(fmtsim_quantizer_create(&c, &o, &q) == FMTSIM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(fmtsim_last_error(), "takes no scale groups") != NULL);
    c.spec = "asym4";
    c.groups = NULL;
    c.rule = "floor";
    CHECK(fmtsim_quantizer_create(&c, &o, &q) == FMTSIM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(fmtsim_last_error(), "has its own scaling") != NULL);
    c.rule = NULL;
    o.rounding = "hys";
    CHECK(fmtsim_quantizer_create(&c, &o, &q) == FMTSIM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(fmtsim_last_error(), "hysteresis") != NULL);
    o.rounding = "rtz";
    CHECK(fmtsim_quantizer_create(&c, &o, &q) == FMTSIM_OK);
    {
      float x[2] = {0, 1}, y[2];
      int64_t s[1] = {2};
      fmtsim_tensor in = {x, FMTSIM_FLOAT32, 1, s, NULL}, out = {y, FMTSIM_FLOAT32, 1, s, NULL};
      CHECK(fmtsim_quantizer_quantize(q, &in, &out, NULL) == FMTSIM_ERROR_INVALID_ARGUMENT);
      CHECK(strstr(fmtsim_last_error(), "rounding must be rne") != NULL);
      x[1] = NAN;
      fmtsim_quantizer_destroy(q);
      q = make("asym4", NULL, NULL, 0);
      CHECK(fmtsim_quantizer_quantize(q, &in, &out, NULL) != FMTSIM_OK);
      CHECK(strstr(fmtsim_last_error(), "asymmetric_quantize") != NULL);
    }
    CHECK(fmtsim_quantizer_family_params(NULL, NULL, NULL, NULL, 0, NULL) == FMTSIM_ERROR_NULL_POINTER);
    fmtsim_quantizer_destroy(q);
    q = make("mxfp8_e4m3", NULL, NULL, 0);
    CHECK(fmtsim_quantizer_family_params(q, NULL, NULL, NULL, 0, NULL) == FMTSIM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(fmtsim_last_error(), "not a family quantizer") != NULL);
    fmtsim_quantizer_destroy(q);
  }

  /* bit packing: 3-bit codes 5, 2, 7 -> bits 101 010 111 LSB first = 0b11010101, 0b1 */
  {
    uint16_t codes[3] = {5, 2, 7}, back[3] = {0, 0, 0};
    uint8_t buf[4] = {0xAA, 0xAA, 0xAA, 0xAA};
    int64_t shape[1] = {3};
    fmtsim_tensor c = {codes, FMTSIM_UINT16, 1, shape, NULL}, b = {back, FMTSIM_UINT16, 1, shape, NULL};
    CHECK(fmtsim_pack_codes(&c, 3, NULL, 0, &needed) == FMTSIM_OK && needed == 2);
    CHECK(fmtsim_pack_codes(&c, 3, buf, 1, &needed) == FMTSIM_ERROR_BUFFER_TOO_SMALL);
    CHECK(strstr(fmtsim_last_error(), "need 2 bytes, the buffer has 1") != NULL);
    CHECK(fmtsim_pack_codes(&c, 3, buf, sizeof buf, &needed) == FMTSIM_OK);
    CHECK(buf[0] == 0xD5 && buf[1] == 0x01 && buf[2] == 0xAA);
    CHECK(fmtsim_unpack_codes(buf, 2, 3, &b) == FMTSIM_OK);
    CHECK(back[0] == 5 && back[1] == 2 && back[2] == 7);
    CHECK(fmtsim_unpack_codes(buf, 1, 3, &b) == FMTSIM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(fmtsim_last_error(), "3 codes of 3 bits need 2 bytes, got 1") != NULL);
    codes[1] = 8;
    CHECK(fmtsim_pack_codes(&c, 3, buf, sizeof buf, &needed) == FMTSIM_ERROR_ELEMENT);
    CHECK(strstr(fmtsim_last_error(), "element 1: code 8 does not fit in 3 bits") != NULL);
    CHECK(fmtsim_pack_codes(&c, 0, buf, sizeof buf, &needed) == FMTSIM_ERROR_INVALID_ARGUMENT);
    CHECK(fmtsim_unpack_codes(buf, 2, 9, &(fmtsim_tensor){buf, FMTSIM_UINT8, 1, shape, NULL}) ==
          FMTSIM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(fmtsim_last_error(), "do not fit uint8") != NULL);
  }

  /* packed containers: an MX tensor and a SmaQ tensor round-trip through the bytes */
  {
    float x[64], y[64], direct[64];
    int64_t shape[2] = {2, 32}, got_shape[4] = {0, 0, 0, 0};
    int ndim = 0, f64 = -1;
    uint8_t* buf;
    fmtsim_tensor in = {x, FMTSIM_FLOAT32, 2, shape, NULL}, out = {y, FMTSIM_FLOAT32, 2, shape, NULL};
    fmtsim_tensor dout = {direct, FMTSIM_FLOAT32, 2, shape, NULL};
    fmtsim_quantizer* q = make("mxfp8_e4m3", NULL, NULL, 0);
    for (int i = 0; i < 64; ++i) x[i] = (float)sin(0.37 * i) * (float)(1 + i);
    CHECK(fmtsim_quantizer_pack(q, &in, NULL, 0, &needed) == FMTSIM_OK && needed > 64);
    buf = malloc(needed);
    CHECK(fmtsim_quantizer_pack(q, &in, buf, needed, &needed) == FMTSIM_OK);
    CHECK(fmtsim_packed_info(buf, needed, &ndim, got_shape, 4, &f64) == FMTSIM_OK);
    CHECK(ndim == 2 && got_shape[0] == 2 && got_shape[1] == 32 && f64 == 0);
    CHECK(fmtsim_unpack_tensor(buf, needed, &out) == FMTSIM_OK);
    CHECK(fmtsim_quantizer_quantize(q, &in, &dout, NULL) == FMTSIM_OK);
    CHECK(memcmp(y, direct, sizeof y) == 0);
    /* a corrupted byte, a truncated buffer, a wrong output shape */
    buf[needed - 1] ^= 0x40;
    CHECK(fmtsim_unpack_tensor(buf, needed, &out) == FMTSIM_ERROR_INVALID_ARGUMENT && strlen(fmtsim_last_error()) > 0);
    buf[needed - 1] ^= 0x40;
    CHECK(fmtsim_unpack_tensor(buf, needed / 2, &out) == FMTSIM_ERROR_INVALID_ARGUMENT);
    {
      int64_t wrong[2] = {4, 16};
      fmtsim_tensor w = {y, FMTSIM_FLOAT32, 2, wrong, NULL};
      CHECK(fmtsim_unpack_tensor(buf, needed, &w) == FMTSIM_ERROR_INVALID_ARGUMENT);
      CHECK(strstr(fmtsim_last_error(), "the output has shape (4, 16), the packed tensor has shape (2, 32)") != NULL);
    }
    free(buf);
    fmtsim_quantizer_destroy(q);

    q = make("smaq:6,8", NULL, "rne", 0);
    CHECK(fmtsim_quantizer_pack(q, &in, NULL, 0, &needed) == FMTSIM_OK);
    buf = malloc(needed);
    CHECK(fmtsim_quantizer_pack(q, &in, buf, needed, &needed) == FMTSIM_OK);
    CHECK(fmtsim_unpack_tensor(buf, needed, &out) == FMTSIM_OK);
    CHECK(fmtsim_quantizer_quantize(q, &in, &dout, NULL) == FMTSIM_OK);
    CHECK(memcmp(y, direct, sizeof y) == 0);
    free(buf);
    fmtsim_quantizer_destroy(q);

    q = make("asym4", NULL, NULL, 0);
    CHECK(fmtsim_quantizer_pack(q, &in, NULL, 0, &needed) == FMTSIM_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(fmtsim_last_error(), "has no packed container") != NULL);
    fmtsim_quantizer_destroy(q);
  }

  if (failures) {
    printf("%d failures\n", failures);
    return 1;
  }
  printf("capi families: all checks passed\n");
  return 0;
}

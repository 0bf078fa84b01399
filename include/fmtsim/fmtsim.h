/* SPDX-License-Identifier: MIT */
/* fmtsim C API: element formats and tensor quantizers behind opaque handles, strided N-d buffers, error codes. */
#ifndef FMTSIM_FMTSIM_H
#define FMTSIM_FMTSIM_H

/*
 * Conventions
 * - Every function returns an fmtsim_status (FMTSIM_OK = 0) except the destroy functions and the
 *   string getters. On failure fmtsim_last_error() returns a message naming what is wrong (the spec
 *   parser's message, the element index, ...); it is per thread and valid until the next fmtsim call
 *   on that thread. No C++ exception ever crosses this boundary.
 * - Format specs and rounding names are those of the C++ library and the CLI: "e4m3fn", "float8_e5m2",
 *   "e2m1fin", "bf16", "int8", "fix8.4", "bp:5x7,4,3,2,1,0", "fp134", "log4", ":sat" ...; rounding
 *   "rne" (default), "rna", "rtz", "rup", "rdn", "rto", "sr", "sr<R>", "hys".
 * - Tensors are described by fmtsim_tensor: data pointer, dtype, ndim, shape and strides in ELEMENTS
 *   (strides may be negative or zero; strides == NULL means C order). The caller guarantees that every
 *   element the shape and strides address lies inside its allocation. Stochastic rounding keys element
 *   i of the C-order flattening with index_offset + i, whatever the strides.
 * - Handles are not thread-safe; distinct handles may be used from distinct threads.
 */

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define FMTSIM_API __declspec(dllexport)
#else
#define FMTSIM_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fmtsim_status {
  FMTSIM_OK = 0,
  FMTSIM_ERROR_INVALID_ARGUMENT = 1, /* malformed spec, unknown rounding, shape/dtype mismatch, ... */
  FMTSIM_ERROR_ELEMENT = 2,          /* NaN into a format without NaN (encode), a code that is no code (decode) */
  FMTSIM_ERROR_NULL_POINTER = 3,     /* a required pointer argument is NULL */
  FMTSIM_ERROR_BUFFER_TOO_SMALL = 4, /* a string did not fit; *needed says how many bytes it needs */
  FMTSIM_ERROR_OUT_OF_MEMORY = 5,
  FMTSIM_ERROR_INTERNAL = 6
} fmtsim_status;

typedef enum fmtsim_dtype {
  FMTSIM_FLOAT32 = 0,
  FMTSIM_FLOAT64 = 1,
  FMTSIM_UINT8 = 2, /* codes */
  FMTSIM_UINT16 = 3,
  FMTSIM_UINT32 = 4
} fmtsim_dtype;

typedef enum fmtsim_family {
  FMTSIM_FAMILY_MINIFLOAT = 0,
  FMTSIM_FAMILY_INTEGER = 1, /* int<N>, uint<N>, fix<N>.<F> */
  FMTSIM_FAMILY_PROFILE = 2  /* binade profiles, fp1xy, log<N> */
} fmtsim_family;

/* A strided N-d tensor (a view; fmtsim never frees it). */
typedef struct fmtsim_tensor {
  void* data; /* address of element (0, ..., 0) */
  fmtsim_dtype dtype;
  int ndim;               /* 0 = a scalar */
  const int64_t* shape;   /* ndim extents */
  const int64_t* strides; /* ndim strides in elements, or NULL for C order */
} fmtsim_tensor;

/* Per-call options. Initialise with fmtsim_options_init. */
typedef struct fmtsim_options {
  const char* rounding;  /* NULL = "rne" */
  uint64_t seed;         /* stochastic rounding key */
  uint64_t index_offset; /* element i uses random stream index_offset + i */
  int saturate;          /* non-zero: the ":sat" modifier (overflow gives +-max in every mode) */
  const char* backend;   /* NULL = "auto"; "scalar", "simd" */
} fmtsim_options;

/* What fmtsim_format_describe reports. Values are exact (every limit is a dyadic number that fits a double). */
typedef struct fmtsim_format_info {
  fmtsim_family family;
  int bits;          /* code width */
  int exponent_bits; /* minifloats; 0 otherwise */
  int mantissa_bits; /* minifloats; 0 otherwise */
  int bias;          /* minifloats; 0 otherwise */
  int is_signed;
  int has_inf;
  int has_nan;
  int has_negative_zero;
  int float32_exact; /* every value is a float32 (float32 data may be quantized to it) */
  double max;        /* largest finite value */
  double lowest;     /* most negative finite value (smallest value for unsigned formats) */
  double min_normal;
  double min_subnormal;   /* 0 if the format has no subnormals */
  uint64_t finite_values; /* codes that decode to finite numbers (+0 and -0 counted separately) */
} fmtsim_format_info;

/* Statistics of one tensor quantizer call. */
typedef struct fmtsim_stats {
  uint64_t elements;
  uint64_t groups;
  uint64_t zero_groups;
  uint64_t nan_groups;
  uint64_t nonfinite;
  uint64_t clipped;
  uint64_t flushed_to_zero;
  uint64_t outliers;
  uint64_t scale_clamped;
  int scale_exp_min;
  int scale_exp_max;
  double bits_per_element; /* element code bits plus scale bits, per element */
} fmtsim_stats;

/* Tensor quantizer configuration (formats.md section 3). Initialise with fmtsim_quantizer_config_init. */
typedef struct fmtsim_quantizer_config {
  const char* spec;   /* element spec, MX name (mxfp8_e4m3, ...), block minifloat preset (bm8, bm8:bwd, ...) or a
                         real-scaled family: "asym<B>" (FracTrain min/max, B = 1..16, groups apply), "scq<B>:dx" /
                         "scq<B>:dw" (SCQ per-sample / per-channel copy of a 2-d dY), "sign" (1-bit sign * mean|x|),
                         "sbin" (stochastic binary), "agp<B>[:det]" (activation gradient pruning, samples on axis 0),
                         "smaq[:M,O[:sample=S[@SEED]]]", "s2fp8". Families take rounding rne or sr[<R>] and a seed;
                         rule, room, tracking, nonfinite and saturate are for element and scaled specs only. */
  const char* groups; /* NULL = the spec's default; "tensor", "channel[:AXIS]", "block:SIZE[:AXIS]", "tile:AxB" */
  const char* rule;   /* NULL = the spec's default; "none", "floor", "ceil", "room", "fp32" */
  int room;           /* used when has_room is non-zero (implies rule "room" when rule is NULL) */
  int has_room;
  int tracking;          /* keep the scale between calls, move it by at most one binade per call */
  const char* nonfinite; /* NULL = "nan"; "error", "pass" */
} fmtsim_quantizer_config;

typedef struct fmtsim_format fmtsim_format;
typedef struct fmtsim_quantizer fmtsim_quantizer;

/* ---- errors and version ---------------------------------------------------------------------- */
FMTSIM_API const char* fmtsim_last_error(void);
FMTSIM_API const char* fmtsim_status_name(fmtsim_status status);
FMTSIM_API const char* fmtsim_version(void);

/* ---- element formats --------------------------------------------------------------------------- */
FMTSIM_API void fmtsim_options_init(fmtsim_options* options);
FMTSIM_API fmtsim_status fmtsim_format_create(const char* spec, fmtsim_format** out);
FMTSIM_API void fmtsim_format_destroy(fmtsim_format* format);
FMTSIM_API fmtsim_status fmtsim_format_describe(const fmtsim_format* format, fmtsim_format_info* info);
/* Canonical spec into buf (NUL-terminated). *needed (if not NULL) receives the size including the NUL. */
FMTSIM_API fmtsim_status fmtsim_format_name(const fmtsim_format* format, char* buf, size_t size, size_t* needed);

/* out = quantize(in); in and out: FLOAT32 or FLOAT64 (the same), same shape; out may be in. previous: the
 * previous quantized values (same shape and dtype) for rounding "hys", else NULL. */
FMTSIM_API fmtsim_status fmtsim_quantize(const fmtsim_format* format, const fmtsim_tensor* in, const fmtsim_tensor* out,
                                         const fmtsim_options* options, const fmtsim_tensor* previous);
/* codes = encode(in); codes: UINT8/UINT16/UINT32 wide enough for the format's codes, same shape as in. */
FMTSIM_API fmtsim_status fmtsim_encode(const fmtsim_format* format, const fmtsim_tensor* in, const fmtsim_tensor* codes,
                                       const fmtsim_options* options, const fmtsim_tensor* previous);
/* out = decode(codes); codes UINT8/UINT16/UINT32, out FLOAT32/FLOAT64, same shape. */
FMTSIM_API fmtsim_status fmtsim_decode(const fmtsim_format* format, const fmtsim_tensor* codes,
                                       const fmtsim_tensor* out);

/* ---- tensor quantizers (scaled formats, tracking, hysteresis) ------------------------------------- */
FMTSIM_API void fmtsim_quantizer_config_init(fmtsim_quantizer_config* config);
/* options: rounding ("hys" keeps the previous output as state), seed, saturate, backend; NULL = defaults. */
FMTSIM_API fmtsim_status fmtsim_quantizer_create(const fmtsim_quantizer_config* config, const fmtsim_options* options,
                                                 fmtsim_quantizer** out);
FMTSIM_API void fmtsim_quantizer_destroy(fmtsim_quantizer* quantizer);
/* Fake-quantize in into out (FLOAT32/FLOAT64, same shape); stats may be NULL. */
FMTSIM_API fmtsim_status fmtsim_quantizer_quantize(fmtsim_quantizer* quantizer, const fmtsim_tensor* in,
                                                   const fmtsim_tensor* out, fmtsim_stats* stats);
FMTSIM_API fmtsim_status fmtsim_quantizer_set_seed(fmtsim_quantizer* quantizer, uint64_t seed);
/* Description of the scaled format (e.g. "mxfp8_e4m3 element=e4m3fn:sat groups=block:32:-1 rule=floor ..."). */
FMTSIM_API fmtsim_status fmtsim_quantizer_describe(const fmtsim_quantizer* quantizer, char* buf, size_t size,
                                                   size_t* needed);
/* Scale exponents of the groups of the last call (power-of-two rules), C order over the group grid (family
 * quantizers: none, *count = 0; see fmtsim_quantizer_family_params).
 * *count receives the number of groups; at most `capacity` are written. */
FMTSIM_API fmtsim_status fmtsim_quantizer_scales(const fmtsim_quantizer* quantizer, int32_t* scale_exp, size_t capacity,
                                                 size_t* count);
/* State (tracked scales, hysteresis previous tensor) as a JSON document; load it into a quantizer of the
 * same configuration to continue where the saved one stopped. */
FMTSIM_API fmtsim_status fmtsim_quantizer_save_state(const fmtsim_quantizer* quantizer, char* buf, size_t size,
                                                     size_t* needed);
FMTSIM_API fmtsim_status fmtsim_quantizer_load_state(fmtsim_quantizer* quantizer, const char* state);
FMTSIM_API fmtsim_status fmtsim_quantizer_reset(fmtsim_quantizer* quantizer);
/* Family quantizers: what the last call chose. alpha, beta: S2FP8's shift and squeeze (1, 0 for the other
 * families); kept: AGP's per-sample keep decisions (*count receives the number of samples, 0 for the other
 * families; at most `capacity` are written). Any output pointer may be NULL. Not a family: INVALID_ARGUMENT. */
FMTSIM_API fmtsim_status fmtsim_quantizer_family_params(const fmtsim_quantizer* quantizer, double* alpha, double* beta,
                                                        uint8_t* kept, size_t capacity, size_t* count);

/* ---- packing (docs/packed.md) --------------------------------------------------------------------- */
/* Bit-pack codes (UINT8/UINT16/UINT32, any shape and strides, C order) of `bits` bits each (1..32) into buf:
 * one little-endian bit stream, code i at bits i*bits .. i*bits+bits-1, the last byte zero-padded.
 * *needed (if not NULL) receives the byte count; buf = NULL with size 0 asks for it. A code wider than
 * `bits` is an ELEMENT error naming the element. */
FMTSIM_API fmtsim_status fmtsim_pack_codes(const fmtsim_tensor* codes, int bits, uint8_t* buf, size_t size,
                                           size_t* needed);
/* Inverse: fills every element of codes (its shape gives the count) from buf. */
FMTSIM_API fmtsim_status fmtsim_unpack_codes(const uint8_t* buf, size_t size, int bits, const fmtsim_tensor* codes);
/* Quantize in with the quantizer's format, options and seed and write the packed tensor container (version 1:
 * bit-packed element codes, group scales, shape, format) into buf; element and scaled specs and smaq only.
 * *needed receives the container size; buf = NULL with size 0 asks for it. */
FMTSIM_API fmtsim_status fmtsim_quantizer_pack(fmtsim_quantizer* quantizer, const fmtsim_tensor* in, uint8_t* buf,
                                               size_t size, size_t* needed);
/* Shape (at most `capacity` extents written, *ndim the rank) and original dtype of a packed container. */
FMTSIM_API fmtsim_status fmtsim_packed_info(const uint8_t* buf, size_t size, int* ndim, int64_t* shape, int capacity,
                                            int* float64);
/* Values of a packed container into out (FLOAT32/FLOAT64, the container's shape, any strides). Malformed,
 * truncated or corrupted data: INVALID_ARGUMENT with the reason. */
FMTSIM_API fmtsim_status fmtsim_unpack_tensor(const uint8_t* buf, size_t size, const fmtsim_tensor* out);

#ifdef __cplusplus
}
#endif

#endif /* FMTSIM_FMTSIM_H */

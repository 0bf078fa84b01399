// SPDX-License-Identifier: MIT
// FMTSIM_HD marks functions shared by host and CUDA device code (one copy of every rounding rule).
#pragma once

#if defined(__CUDACC__)
#define FMTSIM_HD __host__ __device__
#define FMTSIM_DEVICE_COMPILE 1
#else
#define FMTSIM_HD
#endif

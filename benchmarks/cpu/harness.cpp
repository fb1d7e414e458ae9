//===- harness.cpp - CPU backend benchmarks against dense baselines -------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Times, in one process and one run: the compressed SmartExchange and PermDNN
// kernels (sd-cpu-to-llvm), the same layers dense through upstream MLIR's
// default lowering, OpenBLAS sgemv/sgemm on the same shapes, and a stream-copy
// kernel that measures the memory bandwidth the others are compared to.
// models.inc (written by run.sh) lists the compiled model functions.
//
//===----------------------------------------------------------------------===//

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {
struct MemRef2D {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
};

MemRef2D view(std::vector<float> &v, int64_t rows, int64_t cols) {
  return {v.data(), v.data(), 0, {rows, cols}, {cols, 1}};
}

std::vector<float> randomVector(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (float &f : v)
    f = dist(gen);
  return v;
}
} // namespace

#define SD_SE(name, n, k, b)                                                   \
  extern "C" void _mlir_ciface_##name(MemRef2D *, MemRef2D *);
#define SD_DENSE(name, n, k, b)                                                \
  extern "C" void _mlir_ciface_##name(MemRef2D *, MemRef2D *, MemRef2D *);
#define SD_PD(name, n, k, b) SD_SE(name, n, k, b)
#include "models.inc"
#undef SD_SE
#undef SD_DENSE
#undef SD_PD

static void benchSE(benchmark::State &state, void (*fn)(MemRef2D *, MemRef2D *),
                    int64_t n, int64_t k, int64_t b, int64_t weightBytes) {
  std::vector<float> x = randomVector(b * k, 1);
  MemRef2D xd = view(x, b, k);
  for (auto _ : state) {
    MemRef2D y;
    fn(&y, &xd);
    benchmark::DoNotOptimize(y.aligned[0]);
    free(y.allocated);
  }
  state.SetBytesProcessed(state.iterations() * weightBytes);
  state.counters["flops"] = benchmark::Counter(
      2.0 * n * k * b * state.iterations(), benchmark::Counter::kIsRate);
}

static void benchDense(benchmark::State &state,
                       void (*fn)(MemRef2D *, MemRef2D *, MemRef2D *),
                       int64_t n, int64_t k, int64_t b) {
  std::vector<float> x = randomVector(b * k, 1), w = randomVector(n * k, 2);
  MemRef2D xd = view(x, b, k), wd = view(w, n, k);
  for (auto _ : state) {
    MemRef2D y;
    fn(&y, &xd, &wd);
    benchmark::DoNotOptimize(y.aligned[0]);
    free(y.allocated);
  }
  state.SetBytesProcessed(state.iterations() * n * k * 4);
  state.counters["flops"] = benchmark::Counter(
      2.0 * n * k * b * state.iterations(), benchmark::Counter::kIsRate);
}

static void benchBlas(benchmark::State &state, int64_t n, int64_t k,
                      int64_t b) {
  std::vector<float> x = randomVector(b * k, 1), w = randomVector(n * k, 2);
  std::vector<float> y(b * n);
  for (auto _ : state) {
    if (b == 1)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, w.data(), k,
                  x.data(), 1, 0.0f, y.data(), 1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, n, k, 1.0f,
                  x.data(), k, w.data(), k, 0.0f, y.data(), n);
    benchmark::DoNotOptimize(y[0]);
  }
  state.SetBytesProcessed(state.iterations() * n * k * 4);
  state.counters["flops"] = benchmark::Counter(
      2.0 * n * k * b * state.iterations(), benchmark::Counter::kIsRate);
}

/// Copies 256 MiB: bytes read plus bytes written per second.
static void benchStreamCopy(benchmark::State &state) {
  size_t n = size_t(64) << 20; // floats
  std::vector<float> a(n, 1.0f), c(n, 0.0f);
  for (auto _ : state) {
    float *__restrict dst = c.data();
    const float *__restrict src = a.data();
    for (size_t i = 0; i < n; ++i)
      dst[i] = src[i];
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * n * 4 * 2);
}

int main(int argc, char **argv) {
  benchmark::RegisterBenchmark("stream_copy", benchStreamCopy)
      ->Unit(benchmark::kMillisecond);
#define SD_SE(name, n, k, b)                                                   \
  benchmark::RegisterBenchmark(#name, benchSE, _mlir_ciface_##name, n, k, b,   \
                               SD_WEIGHT_BYTES_##name)                         \
      ->Unit(benchmark::kMillisecond);                                         \
  benchmark::RegisterBenchmark("fc_blas_" #n "x" #k "_b" #b, benchBlas, n, k,  \
                               b)                                              \
      ->Unit(benchmark::kMillisecond);
#define SD_DENSE(name, n, k, b)                                                \
  benchmark::RegisterBenchmark(#name, benchDense, _mlir_ciface_##name, n, k,   \
                               b)                                              \
      ->Unit(benchmark::kMillisecond);
  // Same signature as the SE models; "flops" stays the dense count, so
  // rates compare layers, not work done.
#define SD_PD(name, n, k, b)                                                   \
  benchmark::RegisterBenchmark(#name, benchSE, _mlir_ciface_##name, n, k, b,   \
                               SD_WEIGHT_BYTES_##name)                         \
      ->Unit(benchmark::kMillisecond);
#include "models.inc"
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

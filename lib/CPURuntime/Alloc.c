//===- Alloc.c - Buffer allocation of compiled CPU libraries --------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// scripts/sd-compile.sh links this into every library it builds; with
// `--sd-cpu-to-llvm=cached-alloc=true` the lowered code allocates its
// buffers through these functions (MLIR's `use-generic-functions`) instead
// of malloc and free.
//
// Why: a model's activations are buffers of 100 KB to a few MB, allocated
// and freed on every call. glibc serves such sizes with fresh mmaps or
// returns them to the kernel when the heap top is trimmed, so every call
// page-faults them in again and the kernel clears each page (a quarter of
// the OCR recognizer's time). Here freed buffers of 64 KB and more are kept
// and handed out again to a request of at most their size and at least half
// of it: from the second call on, a call finds the buffers of the one before
// and touches no new page. Smaller ones go straight back to malloc, whose
// bins already reuse them. The cache holds at most kSlots buffers; what it
// keeps is bounded by the largest set of buffers freed within one call.
//
// The functions are hidden, so two libraries in one process each keep their
// own. A result buffer handed to the caller is a malloc block, which the
// caller frees with free().
//
//===----------------------------------------------------------------------===//

#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#define SD_HIDDEN __attribute__((visibility("hidden")))

enum { kSlots = 256, kSmallest = 64 * 1024 };

static void *blocks[kSlots];
static size_t sizes[kSlots];
static int count;
// Allocations also happen inside parallel loops (per-thread tiles).
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

SD_HIDDEN void *_mlir_memref_to_llvm_alloc(size_t size) {
  if (size >= kSmallest) {
    pthread_mutex_lock(&lock);
    int best = -1;
    for (int i = 0; i < count; ++i)
      if (sizes[i] >= size && sizes[i] / 2 <= size &&
          (best < 0 || sizes[i] < sizes[best]))
        best = i;
    if (best >= 0) {
      void *p = blocks[best];
      --count;
      blocks[best] = blocks[count];
      sizes[best] = sizes[count];
      pthread_mutex_unlock(&lock);
      return p;
    }
    pthread_mutex_unlock(&lock);
  }
  return malloc(size);
}

SD_HIDDEN void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment,
                                                   size_t size) {
  return aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}

SD_HIDDEN void _mlir_memref_to_llvm_free(void *p) {
  if (!p)
    return;
  size_t size = malloc_usable_size(p);
  if (size >= kSmallest) {
    pthread_mutex_lock(&lock);
    if (count < kSlots) {
      blocks[count] = p;
      sizes[count] = size;
      ++count;
      pthread_mutex_unlock(&lock);
      return;
    }
    pthread_mutex_unlock(&lock);
  }
  free(p);
}

//===- Threads.c - OpenMP defaults of compiled CPU libraries --------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// scripts/sd-compile.sh links this into every library it builds. A model is
// a few hundred short parallel loops per call; libomp's default lets a
// thread that reaches a join spin for 200 ms, which on a machine whose cores
// are shared with other processes turns every join into a wait for a
// preempted spinner: on the 2-core CI machine under load the OCR recognizer
// took 3.5-5 s per call on 2 threads with spinning and 0.2-0.3 s with a
// block time of 0 (threads sleep at once). So, unless the process chose
// (OMP_WAIT_POLICY or KMP_BLOCKTIME set), the library sets the block time
// of the thread that loads it, whose parallel loops are the model's, to 0
// when it is loaded. libomp is referenced weakly: a library without
// parallel loops does not link it, and then there is nothing to set.
//===----------------------------------------------------------------------===//

#include <stdlib.h>

extern void kmp_set_blocktime(int milliseconds) __attribute__((weak));

__attribute__((constructor)) static void sdSleepAtJoins(void) {
  if (kmp_set_blocktime && !getenv("OMP_WAIT_POLICY") &&
      !getenv("KMP_BLOCKTIME"))
    kmp_set_blocktime(0);
}

#ifndef CLOISTER_FUZZ_DRIVER_H
#define CLOISTER_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver (LLVMFuzzerRunDriver, from the runtime -sanitize=fuzzer links) on
/// argv, calling test_one_input for each input.
int cl_fuzz_run_driver(int argc, char **argv, int (*test_one_input)(const uint8_t *data, size_t size));
#endif

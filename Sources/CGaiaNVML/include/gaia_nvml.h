#ifndef GAIA_NVML_H
#define GAIA_NVML_H

/// One device NVML reports: a whole GPU, or a MIG device of one (`parent` >= 0).
typedef struct {
    int index;                       ///< NVML's index of the GPU (of the parent GPU for a MIG device)
    int parent;                      ///< -1 for a whole GPU; the parent's index for a MIG device
    char uuid[96];                   ///< "GPU-…" or "MIG-…": what CUDA_VISIBLE_DEVICES takes
    char name[96];
    unsigned long long memory_total; ///< bytes
    unsigned long long memory_used;  ///< bytes
    int utilization;                 ///< percent of time a kernel ran, -1 when not supported (MIG)
    int mig_enabled;                 ///< 1 when the GPU is in MIG mode (its MIG devices follow it)
} gaia_nvml_device;

/// Queries NVML, loaded with dlopen("libnvidia-ml.so.1") so that nothing links against the driver.
/// Writes up to `capacity` devices and returns how many, or a negative status with a message in
/// `error`: -1 the library is not installed, -2 NVML failed (driver not loaded, no permission…).
int gaia_nvml_query(gaia_nvml_device *devices, int capacity, char *error, int error_length);

#endif

#include "gaia_nvml.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

// The few NVML declarations used, from nvml.h (the ABI is stable: these are the _v2 entry points).
typedef void *nvmlDevice_t;
typedef int nvmlReturn_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;

typedef nvmlReturn_t (*init_fn)(void);
typedef nvmlReturn_t (*shutdown_fn)(void);
typedef const char *(*error_string_fn)(nvmlReturn_t);
typedef nvmlReturn_t (*count_fn)(unsigned int *);
typedef nvmlReturn_t (*handle_fn)(unsigned int, nvmlDevice_t *);
typedef nvmlReturn_t (*string_fn)(nvmlDevice_t, char *, unsigned int);
typedef nvmlReturn_t (*memory_fn)(nvmlDevice_t, nvmlMemory_t *);
typedef nvmlReturn_t (*utilization_fn)(nvmlDevice_t, nvmlUtilization_t *);
typedef nvmlReturn_t (*mig_mode_fn)(nvmlDevice_t, unsigned int *, unsigned int *);
typedef nvmlReturn_t (*mig_count_fn)(nvmlDevice_t, unsigned int *);
typedef nvmlReturn_t (*mig_handle_fn)(nvmlDevice_t, unsigned int, nvmlDevice_t *);

static void fill(gaia_nvml_device *d, nvmlDevice_t handle, int index, int parent, string_fn uuid, string_fn name,
                 memory_fn memory, utilization_fn utilization) {
    memset(d, 0, sizeof *d);
    d->index = index;
    d->parent = parent;
    d->utilization = -1;
    if (uuid) uuid(handle, d->uuid, sizeof d->uuid);
    if (name) name(handle, d->name, sizeof d->name);
    nvmlMemory_t m;
    if (memory && memory(handle, &m) == 0) {
        d->memory_total = m.total;
        d->memory_used = m.used;
    }
    nvmlUtilization_t u;
    if (utilization && utilization(handle, &u) == 0) d->utilization = (int)u.gpu;
}

int gaia_nvml_query(gaia_nvml_device *devices, int capacity, char *error, int error_length) {
    void *library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(error, error_length, "libnvidia-ml.so.1 not found (no NVIDIA driver installed)");
        return -1;
    }
    init_fn init = (init_fn)dlsym(library, "nvmlInit_v2");
    shutdown_fn shutdown = (shutdown_fn)dlsym(library, "nvmlShutdown");
    error_string_fn error_string = (error_string_fn)dlsym(library, "nvmlErrorString");
    count_fn count = (count_fn)dlsym(library, "nvmlDeviceGetCount_v2");
    handle_fn handle_by_index = (handle_fn)dlsym(library, "nvmlDeviceGetHandleByIndex_v2");
    string_fn uuid = (string_fn)dlsym(library, "nvmlDeviceGetUUID");
    string_fn name = (string_fn)dlsym(library, "nvmlDeviceGetName");
    memory_fn memory = (memory_fn)dlsym(library, "nvmlDeviceGetMemoryInfo");
    utilization_fn utilization = (utilization_fn)dlsym(library, "nvmlDeviceGetUtilizationRates");
    mig_mode_fn mig_mode = (mig_mode_fn)dlsym(library, "nvmlDeviceGetMigMode");
    mig_count_fn mig_count = (mig_count_fn)dlsym(library, "nvmlDeviceGetMaxMigDeviceCount");
    mig_handle_fn mig_handle = (mig_handle_fn)dlsym(library, "nvmlDeviceGetMigDeviceHandleByIndex");
    if (!init || !shutdown || !count || !handle_by_index) {
        snprintf(error, error_length, "libnvidia-ml.so.1 lacks nvmlInit_v2/nvmlDeviceGetCount_v2 (driver too old)");
        dlclose(library);
        return -2;
    }
    nvmlReturn_t status = init();
    if (status != 0) {
        snprintf(error, error_length, "NVML: %s (code %d)", error_string ? error_string(status) : "initialisation failed", status);
        dlclose(library);
        return -2;
    }
    unsigned int gpus = 0;
    status = count(&gpus);
    if (status != 0) {
        snprintf(error, error_length, "NVML: %s (code %d)", error_string ? error_string(status) : "cannot count devices", status);
        shutdown();
        dlclose(library);
        return -2;
    }
    int written = 0;
    for (unsigned int i = 0; i < gpus && written < capacity; i++) {
        nvmlDevice_t gpu;
        if (handle_by_index(i, &gpu) != 0) continue;  // a GPU NVML cannot open (lost, no permission) is left out
        gaia_nvml_device *d = &devices[written++];
        fill(d, gpu, (int)i, -1, uuid, name, memory, utilization);
        unsigned int current = 0, pending = 0;
        if (mig_mode && mig_mode(gpu, &current, &pending) == 0 && current == 1) {
            d->mig_enabled = 1;
            unsigned int slots = 0;
            if (!mig_count || !mig_handle || mig_count(gpu, &slots) != 0) continue;
            for (unsigned int m = 0; m < slots && written < capacity; m++) {
                nvmlDevice_t mig;
                if (mig_handle(gpu, m, &mig) != 0) continue;  // an empty slot
                fill(&devices[written], mig, (int)i, (int)i, uuid, name, memory, NULL);
                written++;
            }
        }
    }
    shutdown();
    dlclose(library);
    return written;
}

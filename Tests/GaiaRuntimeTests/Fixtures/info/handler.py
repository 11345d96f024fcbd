import os


def handle(payload, context):
    print("a print from the handler must not corrupt the protocol")
    return {
        "cpus": sorted(os.sched_getaffinity(0)),
        "omp": os.environ.get("OMP_NUM_THREADS"),
        "openblas": os.environ.get("OPENBLAS_NUM_THREADS"),
        "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "name": context.function_name,
        "backend": context.backend,
    }

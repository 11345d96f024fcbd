/// What a process Gaia starts for a function (an instance, the fork server, pip installing its
/// requirements) takes of the server's own environment: what Python, its frameworks, the system's
/// libraries and the network need, and nothing else. The server's tokens, keys and settings
/// (`GAIA_TOKEN`, `AWS_SECRET_ACCESS_KEY`, a database URL…) never reach a function; what a function
/// needs of its own it is given by `--env` and `--secret`.
enum InheritedEnvironment {
    /// Variables passed on by name.
    static let names: Set<String> = [
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR",
        "PYTHONPATH", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE", "PYTHONWARNINGS",
        "LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH", "CUDA_DEVICE_ORDER", "CUDA_MODULE_LOADING",
        "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
        "HF_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_CACHE", "TRANSFORMERS_OFFLINE",
        "TORCH_HOME", "XDG_CACHE_HOME",
    ]
    /// Families passed on by prefix (locale categories; pip's own settings, for pip only).
    static let prefixes = ["LC_"]

    /// The part of `environment` a function's processes inherit (`pip`: also `PIP_*`).
    static func of(_ environment: [String: String], pip: Bool = false) -> [String: String] {
        environment.filter { name, _ in
            names.contains(name) || prefixes.contains { name.hasPrefix($0) } || (pip && name.hasPrefix("PIP_"))
        }
    }
}

#ifndef GAIA_PROCESS_H
#define GAIA_PROCESS_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` in `cwd` (NULL: inherit), with `stdin_fd`, `stdout_fd` and
/// `stderr_fd` as its descriptors 0, 1 and 2 and every other descriptor closed, in a process group
/// of its own, with an empty signal mask and default signal dispositions. Returns 0 and the pid in
/// `pid`, or an errno value.
int gaia_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid);

/// Waits for child `pid` to end (retrying on EINTR) and returns its exit code, or minus the signal
/// that killed it; -1000 - errno when it cannot be waited for.
int gaia_wait_exit(pid_t pid);

/// A pollable descriptor that becomes readable when process `pid` (any process, not only a child)
/// has exited, or -1 where pidfd_open is not available.
int gaia_pidfd_open(pid_t pid);

/// Creates a pipe whose two descriptors are closed on exec; 0, or -1 with errno set.
int gaia_pipe_cloexec(int fds[2]);

#endif

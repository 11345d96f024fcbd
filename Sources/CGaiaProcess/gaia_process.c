#define _GNU_SOURCE
#include "gaia_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int gaia_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int error = posix_spawn_file_actions_init(&actions);
    if (error) return error;
    error = posix_spawnattr_init(&attributes);
    if (error) {
        posix_spawn_file_actions_destroy(&actions);
        return error;
    }
    // dup2 clears close-on-exec on the copies; every other descriptor (the server's sockets, the
    // database, other workers' pipes) is closed in the child.
    if (!error) error = posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    if (!error) error = posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    if (!error) error = posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
    if (!error) error = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (!error && cwd) error = posix_spawn_file_actions_addchdir_np(&actions, cwd);
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    if (!error) error = posix_spawnattr_setsigmask(&attributes, &empty);
    if (!error) error = posix_spawnattr_setsigdefault(&attributes, &all);
    if (!error) error = posix_spawnattr_setpgroup(&attributes, 0);
    if (!error) {
        error = posix_spawnattr_setflags(
            &attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_USEVFORK);
    }
    if (!error) error = posix_spawn(pid, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return error;
}

int gaia_wait_exit(pid_t pid) {
    int status = 0;
    for (;;) {
        pid_t result = waitpid(pid, &status, 0);
        if (result == pid) break;
        if (result < 0 && errno == EINTR) continue;
        return -1000 - errno;
    }
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return WEXITSTATUS(status);
}

int gaia_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int gaia_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

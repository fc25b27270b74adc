/*
 * fsutil.c - full writes, directory fsyncs and the free-space probe.
 */
#include "core/fsutil.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

int vg_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *at = p;
    while (n > 0) {
        ssize_t w = write(fd, at, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        at += w;
        n -= (size_t)w;
    }
    return 0;
}

int vg_write_file_sync(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = vg_write_all(fd, p, n);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

ssize_t vg_pread_all(int fd, void *p, size_t n, uint64_t off)
{
    uint8_t *at = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, at + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int vg_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int vg_fsync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    return vg_fsync_dir(dir);
}

int vg_fs_has_room(const char *dir, uint64_t bytes)
{
    struct statvfs sv;
    if (statvfs(dir, &sv) < 0)
        return -errno;
    uint64_t blocks = geteuid() == 0 ? sv.f_bfree : sv.f_bavail;
    uint64_t unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    return blocks >= (bytes + unit - 1) / unit;
}

int vg_mkdir_p(const char *path, unsigned mode)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

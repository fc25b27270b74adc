/*
 * test_fsutil.c - the durable-file helpers the keyring, the log and
 * snapshots rely on: vg_write_all must deliver every byte, in order, even
 * through short writes and signals, and report failures as -errno; the
 * directory fsyncs must sync the directory that holds a path (the cwd for a
 * bare file name, "/" for a file in the root) and say -ENOENT or -ENOTDIR
 * when it is not there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/fsutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define PIPE_PAYLOAD (1u << 20) /* well above a pipe's 64 KiB buffer */

static char dir[64];
static char path[128];

static int setup_dir(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/vg-test-fsutil-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/file", dir);
    return 0;
}

static int teardown_dir(void **state)
{
    unlink(path);
    rmdir(dir);
    return 0;
}

/* Bytes that differ from their neighbours, so a lost or repeated chunk shows. */
static uint8_t *make_payload(size_t n)
{
    uint8_t *p = vg_malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i ^ (i >> 8) ^ (i >> 16));
    return p;
}

static void make_file(const char *p, const char *text)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(vg_write_all(fd, text, strlen(text)), 0);
    close(fd);
}

/* ---- a reader thread on the other end of a pipe ------------------------ */

struct reader {
    int fd;
    size_t expected;
    uint8_t *got;
    size_t n_got;
    pthread_t writer; /* signalled once before reading when interrupt is set */
    int interrupt;
    unsigned delay_ms; /* before the first read, so the writer blocks */
};

static volatile sig_atomic_t n_signals;

static void on_signal(int sig)
{
    n_signals++;
}

static void *read_all(void *arg)
{
    struct reader *r = arg;
    usleep(r->delay_ms * 1000);
    if (r->interrupt)
        pthread_kill(r->writer, SIGUSR1);
    for (;;) {
        ssize_t n = read(r->fd, r->got + r->n_got, r->expected + 1 - r->n_got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        r->n_got += (size_t)n;
    }
}

/* Writes PIPE_PAYLOAD bytes through a pipe with vg_write_all while a thread
 * reads them, and checks that exactly those bytes came out. */
static void write_through_pipe(int interrupt, unsigned delay_ms)
{
    int fds[2];
    pthread_t thread;
    uint8_t *payload = make_payload(PIPE_PAYLOAD);
    struct reader r = {.expected = PIPE_PAYLOAD,
                       .got = vg_malloc(PIPE_PAYLOAD + 1),
                       .writer = pthread_self(),
                       .interrupt = interrupt,
                       .delay_ms = delay_ms};

    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    r.fd = fds[0];
    assert_int_equal(pthread_create(&thread, NULL, read_all, &r), 0);
    assert_int_equal(vg_write_all(fds[1], payload, PIPE_PAYLOAD), 0);
    close(fds[1]);
    assert_int_equal(pthread_join(thread, NULL), 0);
    close(fds[0]);
    assert_int_equal(r.n_got, PIPE_PAYLOAD);
    assert_memory_equal(r.got, payload, PIPE_PAYLOAD);
    free(r.got);
    free(payload);
}

/* ---- vg_write_all ------------------------------------------------------ */

static void test_write_all_writes_every_byte_to_a_file(void **state)
{
    const size_t n = 3u << 20;
    uint8_t *payload = make_payload(n);
    uint8_t *back = vg_malloc(n);
    struct stat st;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);

    assert_int_equal(vg_write_all(fd, payload, n), 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, n);
    assert_int_equal(pread(fd, back, n, 0), n);
    assert_memory_equal(back, payload, n);
    close(fd);
    free(back);
    free(payload);
}

static void test_write_all_writes_more_than_a_pipe_holds_while_it_is_drained(void **state)
{
    write_through_pipe(0, 0);
}

static void test_write_all_finishes_after_a_signal_interrupts_a_blocked_write(void **state)
{
    struct sigaction sa = {.sa_handler = on_signal}, old;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: write() returns short or with EINTR */
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    n_signals = 0;

    /* the reader waits long enough for the pipe to fill and the writer to
     * block, then interrupts it before draining the pipe */
    write_through_pipe(1, 100);
    assert_int_equal(n_signals, 1);
    sigaction(SIGUSR1, &old, NULL);
}

static void test_write_all_of_nothing_writes_nothing(void **state)
{
    int fds[2];
    char byte;
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    assert_int_equal(vg_write_all(fds[1], "", 0), 0);
    close(fds[1]);
    assert_int_equal(read(fds[0], &byte, 1), 0); /* end of file, no byte */
    close(fds[0]);
}

static void test_write_all_returns_epipe_when_no_one_reads(void **state)
{
    int fds[2];
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    close(fds[0]);
    assert_int_equal(vg_write_all(fds[1], "lost", 4), -EPIPE);
    close(fds[1]);
    signal(SIGPIPE, old);
}

static void test_write_all_returns_ebadf_for_a_read_only_or_closed_fd(void **state)
{
    make_file(path, "kept");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(vg_write_all(fd, "x", 1), -EBADF);
    close(fd);
    assert_int_equal(vg_write_all(fd, "x", 1), -EBADF);
}

/* ---- vg_fsync_dir ------------------------------------------------------ */

static void test_fsync_dir_of_an_existing_directory_succeeds(void **state)
{
    assert_int_equal(vg_fsync_dir(dir), 0);
    assert_int_equal(vg_fsync_dir("/"), 0);
}

static void test_fsync_dir_of_a_missing_directory_returns_enoent(void **state)
{
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no-such-dir", dir);
    assert_int_equal(vg_fsync_dir(missing), -ENOENT);
}

static void test_fsync_dir_of_a_regular_file_returns_enotdir(void **state)
{
    make_file(path, "not a directory");
    assert_int_equal(vg_fsync_dir(path), -ENOTDIR);
}

/* ---- vg_fsync_parent --------------------------------------------------- */

/* With the cwd in dir: "file" (a regular file there) is not itself a
 * directory and "" cannot be opened, so success means "." was synced. */
static void test_fsync_parent_of_a_bare_filename_uses_the_current_directory(void **state)
{
    int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(cwd >= 0);
    assert_int_equal(chdir(dir), 0);
    make_file("file", "x");

    int rc_existing = vg_fsync_parent("file");
    int rc_missing = vg_fsync_parent("not-created-yet");
    int rc_file_itself = vg_fsync_dir("file");
    assert_int_equal(fchdir(cwd), 0);
    close(cwd);

    assert_int_equal(rc_file_itself, -ENOTDIR);
    assert_int_equal(rc_existing, 0);
    assert_int_equal(rc_missing, 0);
}

static void test_fsync_parent_uses_the_directory_part_of_the_path(void **state)
{
    char p[192];
    assert_int_equal(vg_fsync_parent(path), 0);
    snprintf(p, sizeof p, "%s/no-such-dir/file", dir);
    assert_int_equal(vg_fsync_parent(p), -ENOENT);
    make_file(path, "a file where a directory should be");
    snprintf(p, sizeof p, "%s/child", path);
    assert_int_equal(vg_fsync_parent(p), -ENOTDIR);
}

static void test_fsync_parent_of_a_file_in_the_root_uses_the_root(void **state)
{
    assert_int_equal(vg_fsync_parent("/vigil-no-such-file"), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup_dir, teardown_dir)
    const struct CMUnitTest tests[] = {
        T(test_write_all_writes_every_byte_to_a_file),
        T(test_write_all_writes_more_than_a_pipe_holds_while_it_is_drained),
        T(test_write_all_finishes_after_a_signal_interrupts_a_blocked_write),
        T(test_write_all_of_nothing_writes_nothing),
        T(test_write_all_returns_epipe_when_no_one_reads),
        T(test_write_all_returns_ebadf_for_a_read_only_or_closed_fd),
        T(test_fsync_dir_of_an_existing_directory_succeeds),
        T(test_fsync_dir_of_a_missing_directory_returns_enoent),
        T(test_fsync_dir_of_a_regular_file_returns_enotdir),
        T(test_fsync_parent_of_a_bare_filename_uses_the_current_directory),
        T(test_fsync_parent_uses_the_directory_part_of_the_path),
        T(test_fsync_parent_of_a_file_in_the_root_uses_the_root),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}

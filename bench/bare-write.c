/* The bare limit of the Local Directory sink (issue 9): writes the files listed on stdin ("<relative path>
 * <size>" per line) under DIR, each as a temporary file in DIR/.partial then renamed into place (folders made on
 * the way), no per-file fsync, then one syncfs(2) of DIR's file system and an fsync of each folder written into.
 * THREADS threads share the list. Built by bench/pairs.sh (cc -O2 -pthread); never committed as a binary.
 * With MODE `unnamed`, each file is instead an O_TMPFILE in its folder linked under its name (what cae-init does
 * for a name not yet taken): the same technique, for a like-for-like comparison.
 *
 *   bare-write DIR THREADS [rename|unnamed] < list
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct entry { char *path; size_t size; };

static struct entry *entries;
static size_t count, next_index;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *root;
static char *filler;
static int unnamed;

static void die(const char *what, const char *path) {
    fprintf(stderr, "bare-write: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

/* mkdir -p of the folders of `path` (relative to root). */
static void make_parents(const char *path) {
    char buffer[4096];
    snprintf(buffer, sizeof buffer, "%s/%s", root, path);
    for (char *p = buffer + strlen(root) + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buffer, 0755) != 0 && errno != EEXIST) die("mkdir", buffer);
        *p = '/';
    }
}

static void *worker(void *arg) {
    long id = (long)arg;
    char temporary[4096], target[4096];
    for (unsigned long n = 0;; n++) {
        pthread_mutex_lock(&lock);
        size_t i = next_index++;
        pthread_mutex_unlock(&lock);
        if (i >= count) return NULL;
        snprintf(temporary, sizeof temporary, "%s/.partial/%ld-%lu.tmp", root, id, n);
        snprintf(target, sizeof target, "%s/%s", root, entries[i].path);
        int fd;
        if (unnamed) {
            char folder[4096];
            snprintf(folder, sizeof folder, "%s", target);
            *strrchr(folder, '/') = 0;
            fd = open(folder, O_WRONLY | O_TMPFILE | O_CLOEXEC, 0644);
            if (fd < 0 && errno == ENOENT) {
                make_parents(entries[i].path);
                fd = open(folder, O_WRONLY | O_TMPFILE | O_CLOEXEC, 0644);
            }
            if (fd < 0) die("open (O_TMPFILE)", folder);
        } else {
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd < 0) die("open", temporary);
        }
        size_t done = 0;
        while (done < entries[i].size) {
            ssize_t w = write(fd, filler, entries[i].size - done);
            if (w < 0) { if (errno == EINTR) continue; die("write", temporary); }
            done += (size_t)w;
        }
        if (unnamed) {
            char self[64];
            snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
            if (linkat(AT_FDCWD, self, AT_FDCWD, target, AT_SYMLINK_FOLLOW) != 0) die("link", target);
            close(fd);
            continue;
        }
        close(fd);
        if (rename(temporary, target) != 0) {
            if (errno != ENOENT) die("rename", target);
            make_parents(entries[i].path);
            if (rename(temporary, target) != 0) die("rename", target);
        }
    }
}

static void sync_directory(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) die("open", path);
    if (fsync(fd) != 0) die("fsync", path);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) { fprintf(stderr, "usage: bare-write DIR THREADS [rename|unnamed] < list\n"); return 2; }
    root = argv[1];
    unnamed = argc == 4 && strcmp(argv[3], "unnamed") == 0;
    int threads = atoi(argv[2]);
    if (threads < 1) threads = 1;
    size_t capacity = 1024, largest = 1;
    entries = malloc(capacity * sizeof *entries);
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        char *space = strrchr(line, ' ');
        if (!space) continue;
        *space = 0;
        if (count == capacity) entries = realloc(entries, (capacity *= 2) * sizeof *entries);
        entries[count].path = strdup(line);
        entries[count].size = strtoul(space + 1, NULL, 10);
        if (entries[count].size > largest) largest = entries[count].size;
        count++;
    }
    filler = malloc(largest);
    memset(filler, 'x', largest);
    char partial[4096];
    snprintf(partial, sizeof partial, "%s/.partial", root);
    if (mkdir(root, 0755) != 0 && errno != EEXIST) die("mkdir", root);
    if (mkdir(partial, 0755) != 0 && errno != EEXIST) die("mkdir", partial);

    pthread_t *ids = malloc(threads * sizeof *ids);
    for (long t = 0; t < threads; t++) pthread_create(&ids[t], NULL, worker, (void *)t);
    for (long t = 0; t < threads; t++) pthread_join(ids[t], NULL);

    /* Durable together: one syncfs, then the folders written into (every folder of the listed paths). */
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) != 0) die("syncfs", root);
    close(fd);
    char folder[4096], previous[4096] = "";
    for (size_t i = 0; i < count; i++) {
        snprintf(folder, sizeof folder, "%s/%s", root, entries[i].path);
        *strrchr(folder, '/') = 0;
        if (strcmp(folder, previous) == 0) continue;
        sync_directory(folder);
        strcpy(previous, folder);
    }
    sync_directory(root);
    rmdir(partial);
    printf("%zu files\n", count);
    return 0;
}

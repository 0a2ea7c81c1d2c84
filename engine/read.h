/*
 * read.h — the one bounded read of a descriptor to its end, for host code that takes a whole
 * file or standard input into memory (a command's input, a store file being checked).
 */
#ifndef UNISEC_ENGINE_READ_H
#define UNISEC_ENGINE_READ_H

#include <stddef.h>

/*
 * Reads FD to its end, or to one byte past LIMIT, whichever comes first, into a new buffer
 * (*OUT, NUL-terminated, the caller's to free) of *LEN bytes: *LEN > LIMIT says the input
 * holds more than LIMIT bytes (the caller refuses it or reads again). HINT is the size the
 * caller expects (a regular file's st_size), the first allocation's; the buffer doubles
 * beyond it. Returns 0, or -errno (-ENOMEM) with nothing allocated. EINTR is retried.
 */
int engine_read_fd(int fd, size_t limit, size_t hint, char **out, size_t *len);

#endif
